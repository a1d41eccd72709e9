"""Request bodies: who may send one, and how big, settled before the app reads a byte.

A pure ASGI middleware (no BaseHTTPMiddleware, which would buffer), inside the session
middleware so that it can see who is signed in. For a request that carries a body:

1. Under ``/api/`` it must present a valid bearer token, else 401 at once: an anonymous
   client never gets a body read, parsed or spooled to disk (a 1 GiB JSON body was read into
   memory, then answered 422). The token is checked by ``accounts.authenticate_token`` on a
   worker thread. The routes public by design (the OpenAPI document and the API docs) are GETs
   and exempt. The route checks the token again, with its role, as always.
2. The UI mail upload, the one page that takes a large body, must come from a signed-in
   browser, else the usual redirect to the sign-in page. Other forms are small (below).
3. A ``Content-Length`` over the route's cap is refused with 413 without reading. A body
   without one (chunked) or one that runs longer is counted while it streams and cut off with
   413 as it passes the cap, whatever part of the app is reading it.

Caps: mail uploads (API and UI) ``mail_max_bytes`` times the file count limit, plus room
for the multipart framing; ``POST /api/v1/runs`` ``runs_request_max_bytes``; ``POST
/api/v1/tickets`` the service desk's files in all (25 MiB) and framing; everything else
``request_max_bytes``. They are read per request from the runtime's settings.

Early answers say ``Connection: close``: the server then closes the connection instead of
reading and discarding the rest of a body nobody wants.
"""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from fastapi import Request
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ticketbridge.core.service_desk.mail_files import FileLimits
from ticketbridge.services.accounts import users as accounts
from ticketbridge.services.runtime import Runtime
from ticketbridge.settings import Settings
from ticketbridge.web.deps import NotSignedIn, ui_principal

MAIL_UPLOAD_MAX_FILES = 100
MAIL_UPLOAD_PATHS = frozenset({"/api/v1/mail/upload", "/inbox/upload"})
RUNS_PATH = "/api/v1/runs"
DESK_TICKETS_PATH = "/api/v1/tickets"  # a ticket with its files (core/service_desk/mail_files)
# Multipart framing around each file (boundary, part headers with a file name) and the few
# form fields next to the files (the CSRF token).
PART_OVERHEAD_BYTES = 16 * 1024
FIELDS_BYTES = 64 * 1024
PUBLIC_API_PREFIXES = ("/api/v1/openapi.json", "/api/docs")
UNAUTHORIZED = "a valid API token is required (Authorization: Bearer <token>)"


def mail_upload_cap(settings: Settings) -> int:
    return MAIL_UPLOAD_MAX_FILES * (settings.mail_max_bytes + PART_OVERHEAD_BYTES) + FIELDS_BYTES


# Callouts and webhooks from the PSA are a few KiB; their readers refuse more than this anyway.
HOOKS_PREFIX = "/hooks/"
HOOK_MAX_BYTES = 256 * 1024


def body_cap(method: str, path: str, settings: Settings) -> int:
    """The most a request to this route may send, in bytes."""
    path = path.rstrip("/") or "/"
    if path in MAIL_UPLOAD_PATHS:
        return mail_upload_cap(settings)
    if method == "POST" and path == RUNS_PATH:
        return settings.runs_request_max_bytes
    if method == "POST" and path == DESK_TICKETS_PATH:
        files = FileLimits()
        return files.max_total_bytes + files.max_files * PART_OVERHEAD_BYTES + FIELDS_BYTES
    if path.startswith(HOOKS_PREFIX):
        return HOOK_MAX_BYTES
    return settings.request_max_bytes


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a streamed body passes its cap; the app's error handlers
    answer it like any HTTPException (JSON under /api/, a page elsewhere)."""

    def __init__(self, cap: int) -> None:
        super().__init__(413, too_large_message(cap), headers={"Connection": "close"})


def too_large_message(cap: int) -> str:
    return f"the request body is over the {cap}-byte limit of this address"


def _is_api(path: str) -> bool:
    return path.startswith("/api/")


def _is_public_api(path: str) -> bool:
    return path.startswith(PUBLIC_API_PREFIXES)


def _bearer(headers: Headers) -> str | None:
    scheme, _, credentials = headers.get("authorization", "").partition(" ")
    credentials = credentials.strip()
    return credentials if scheme.lower() == "bearer" and credentials else None


def _token_is_valid(ctx: Runtime, plaintext: str) -> bool:
    # Read only: the route's own check records last use.
    with ctx.session_factory() as session:
        valid = accounts.authenticate_token(session, plaintext) is not None
        session.rollback()
    return valid


def _signed_in(ctx: Runtime, scope: Scope) -> bool:
    with ctx.session_factory() as session:
        try:
            ui_principal(Request(scope), session)
        except NotSignedIn:
            return False
        finally:
            session.rollback()
    return True


def _json_error(status: int, code: str, message: str, headers: dict[str, str]) -> Response:
    # The shape of web/errors.py: {"error": {"code", "message", "details"}}.
    body = {"error": {"code": code, "message": message, "details": None}}
    return JSONResponse(body, status_code=status, headers=headers)


def _error_page(scope: Scope, status: int, message: str, headers: dict[str, str]) -> Response:
    templates: Any = getattr(scope["app"].state, "templates", None)
    if templates is None:
        return HTMLResponse(f"<h1>{status}</h1>", status_code=status, headers=headers)
    response: Response = templates.TemplateResponse(
        Request(scope), "error.html", {"status": status, "message": message}, status_code=status
    )
    response.headers.update(headers)
    return response


def refuse_too_large(scope: Scope, cap: int) -> Response:
    headers = {"Connection": "close"}
    if _is_api(scope["path"]):
        return _json_error(413, "too_large", too_large_message(cap), headers)
    return _error_page(scope, 413, too_large_message(cap), headers)


class RequestLimits:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        ctx: Runtime = scope["app"].state.ctx
        path: str = scope["path"]
        headers = Headers(scope=scope)
        cap = body_cap(scope["method"], path, ctx.settings)
        declared = headers.get("content-length")
        if declared is not None and not declared.strip().isdigit():
            await _json_error(400, "bad_request", "invalid Content-Length", {})(
                scope, receive, send
            )
            return
        length = int(declared) if declared is not None else None
        if length or "transfer-encoding" in headers:
            refusal = await self._refusal(scope, headers, ctx, path)
            if refusal is None and length is not None and length > cap:
                refusal = refuse_too_large(scope, cap)
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        await self.app(scope, _counting(receive, cap), send)

    async def _refusal(
        self, scope: Scope, headers: Headers, ctx: Runtime, path: str
    ) -> Response | None:
        """Who may send this body: None when they may."""
        close = {"Connection": "close"}
        if _is_api(path):
            if _is_public_api(path):
                return None
            token = _bearer(headers)
            if token is None or not await anyio.to_thread.run_sync(_token_is_valid, ctx, token):
                return _json_error(
                    401, "unauthorized", UNAUTHORIZED, {**close, "WWW-Authenticate": "Bearer"}
                )
            return None
        uploading = path.rstrip("/") in MAIL_UPLOAD_PATHS
        if uploading and not await anyio.to_thread.run_sync(_signed_in, ctx, scope):
            return RedirectResponse("/login", status_code=303, headers=close)
        return None


def _counting(receive: Receive, cap: int) -> Receive:
    received = 0

    async def counted() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > cap:
                raise BodyTooLarge(cap)
        return message

    return counted
