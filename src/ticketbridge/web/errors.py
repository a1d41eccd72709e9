"""Errors to HTTP: JSON under /api, pages elsewhere. A 500 means a bug, never bad input.

A bug still gets a proper answer on a connection that stays open: Starlette's own last-resort
handler answers and then raises again so the server can log it, and uvicorn then closes the
keep-alive connection, taking any request queued behind on it down too. :class:`CatchBugs`
answers the 500 itself, logs the traceback, and lets the connection carry on.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ticketbridge.connectors.errors import (
    ConnectorConfigError,
    ConnectorError,
    ConnectorUnavailable,
    RemoteNotFound,
)
from ticketbridge.services.accounts.users import AccountError
from ticketbridge.services.connections.active import IntegrationUnavailable
from ticketbridge.services.connections.mapping import MappingError
from ticketbridge.services.connections.named import ConnectionRefused, UnknownConnection
from ticketbridge.services.connections.settings import InvalidIntegrationSettings
from ticketbridge.services.mail.inbox import InboxError, MailNotFound
from ticketbridge.services.mail.sources import SourceError, SourceNotFound
from ticketbridge.services.runs.catalog import CatalogError, NotFound
from ticketbridge.services.runs.records import InvalidCursor, RunNotFound
from ticketbridge.services.runs.schedules import ScheduleError
from ticketbridge.services.service_desk.desk_admin import DeskMailboxNotFound, MailboxInUse
from ticketbridge.services.service_desk.mailboxes import MailboxRefused
from ticketbridge.services.sync.admin import SyncInUse
from ticketbridge.services.sync.flags import UnknownFlag
from ticketbridge.services.sync.syncs import SyncRefused, UnknownSyncId
from ticketbridge.services.system import settings as system_settings
from ticketbridge.services.system.settings import InvalidSetting
from ticketbridge.services.tickets.store import TicketError
from ticketbridge.web import deps
from ticketbridge.web.deps import NotSignedIn

log = logging.getLogger(__name__)

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    410: "gone",
    413: "too_large",
    422: "invalid",
    429: "too_many_requests",
    502: "upstream_error",
    503: "unavailable",
}


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def error_body(status: int, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": _CODES.get(status, "error"), "message": message, "details": details}}


def _page(request: Request, status: int, message: str) -> Response:
    templates = request.app.state.templates
    context = {"status": status, "message": message, **_frame(request)}
    return templates.TemplateResponse(request, "error.html", context, status_code=status)


def _frame(request: Request) -> dict[str, Any]:
    """The menu, sign-out form and time zone of a normal page, for someone signed in. Asked of
    the database only when the browser holds a sign-in, so anonymous error floods cost none of
    it; and a failure here (the database may be why this page is shown) leaves a bare page."""
    if "session" not in request.scope or deps.SESSION_ID_KEY not in request.session:
        return {}
    try:
        with request.app.state.ctx.session_factory() as session:
            principal = deps.session_principal(request, session)
            if principal is None:
                return {}
            zone = system_settings.ui_timezone(session)
            session.commit()  # a sign-in's last-seen time may have moved
    except Exception:
        log.warning("error page without the menu: the sign-in could not be read", exc_info=True)
        return {}
    return {"principal": principal, "tz": zone, "csrf_token": deps.csrf_token(request)}


def _respond(request: Request, status: int, message: str, details: Any = None) -> Response:
    if is_api(request):
        return JSONResponse(error_body(status, message, details), status_code=status)
    return _page(request, status, message)


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    fields = []
    for error in exc.errors():
        location = [str(part) for part in error.get("loc", ())]
        if location[:1] in (["body"], ["query"], ["path"]):
            location = location[1:]
        if location[:1] in (["run"], ["batch"]):  # the shape tags of POST /runs
            location = location[1:]
        fields.append({"field": ".".join(location) or "body", "message": error.get("msg", "")})
    return fields


def connector_status(exc: ConnectorError) -> tuple[int, dict[str, str]]:
    """An outside system's failure during an operator action: never a 500."""
    if isinstance(exc, ConnectorUnavailable):
        headers = {"Retry-After": str(int(exc.retry_after))} if exc.retry_after else {}
        return 503, headers
    if isinstance(exc, ConnectorConfigError):
        return 409, {}
    if isinstance(exc, RemoteNotFound):
        return 404, {}
    return 502, {}  # refused credentials or permissions, rejected input: the PSA said no


# A path parameter is always an id (web/api/schemas.py: Id); one out of range names nothing.
_OUT_OF_RANGE = {"greater_than_equal", "less_than_equal", "greater_than", "less_than"}


def _names_nothing(exc: RequestValidationError) -> bool:
    """The path names nothing that can exist: 404, whatever else is wrong with the request."""
    return any(
        tuple(e.get("loc", ()))[:1] == ("path",) and e.get("type") in _OUT_OF_RANGE
        for e in exc.errors()
    )


class CatchBugs:
    """Innermost middleware: an exception no handler took becomes a logged 500 answer, and the
    exception stops here, so the server keeps the connection. When the response had already
    begun there is nothing left to answer with: the exception goes on and the server closes
    the connection, as it must."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            request = Request(scope)
            log.exception("unhandled error on %s %s", request.method, request.url.path)
            if started:
                raise
            response = _respond(request, 500, "internal error; it has been logged")
            await response(scope, receive, send)


HTTP_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def allowed_methods(app: FastAPI, scope: Scope) -> list[str]:
    """Every method some route serves at the request's path (asked of the router itself, so
    included routers count however they are nested)."""
    return [
        method
        for method in HTTP_METHODS
        if any(
            route.matches({**scope, "method": method})[0] is Match.FULL
            for route in app.router.routes
            if isinstance(route, BaseRoute)
        )
    ]


def install(app: FastAPI) -> None:
    # Appended, so innermost: the 500 still passes the session, limits and header middleware.
    app.user_middleware.append(Middleware(CatchBugs))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        response = _respond(request, exc.status_code, str(exc.detail))
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        if exc.status_code == 405:
            # Starlette answers from the first route whose path matched; a path served by
            # several routes (GET and POST are separate routes) allows all of their methods.
            response.headers["Allow"] = ", ".join(allowed_methods(app, request.scope))
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        if _names_nothing(exc):
            return _respond(request, 404, "not found: no such id")
        fields = _field_errors(exc)
        summary = "; ".join(f"{f['field']}: {f['message']}" for f in fields[:5])
        return _respond(request, 422, f"invalid input: {summary}", {"fields": fields})

    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, exc: NotSignedIn) -> Response:
        if request.method == "GET":
            target = quote(
                request.url.path + (f"?{request.url.query}" if request.url.query else "")
            )
            return RedirectResponse(f"/login?next={target}", status_code=303)
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(RunNotFound)
    @app.exception_handler(NotFound)
    @app.exception_handler(MailNotFound)
    @app.exception_handler(SourceNotFound)
    @app.exception_handler(UnknownConnection)
    @app.exception_handler(UnknownSyncId)
    @app.exception_handler(UnknownFlag)
    @app.exception_handler(DeskMailboxNotFound)
    async def not_found(request: Request, exc: LookupError) -> Response:
        return _respond(request, 404, str(exc))

    @app.exception_handler(CatalogError)
    @app.exception_handler(InboxError)
    @app.exception_handler(SourceError)
    @app.exception_handler(ScheduleError)
    @app.exception_handler(AccountError)
    @app.exception_handler(InvalidSetting)
    @app.exception_handler(MappingError)
    @app.exception_handler(ConnectionRefused)
    @app.exception_handler(SyncRefused)
    async def invalid_value(request: Request, exc: CatalogError) -> Response:
        return _respond(
            request, 422, str(exc), {"fields": [{"field": exc.field, "message": str(exc)}]}
        )

    @app.exception_handler(SyncInUse)
    async def sync_in_use(request: Request, exc: SyncInUse) -> Response:
        return _respond(request, 409, exc.message)

    @app.exception_handler(InvalidIntegrationSettings)
    async def invalid_integration(request: Request, exc: InvalidIntegrationSettings) -> Response:
        fields = [{"field": e.field, "message": e.message} for e in exc.errors]
        return _respond(request, 422, f"invalid settings: {exc}", {"fields": fields})

    @app.exception_handler(MailboxRefused)
    async def desk_mailbox_refused(request: Request, exc: MailboxRefused) -> Response:
        fields = [{"field": e.field, "message": e.message} for e in exc.errors]
        return _respond(request, 422, "The mailbox settings were refused.", {"fields": fields})

    @app.exception_handler(MailboxInUse)
    async def desk_mailbox_in_use(request: Request, exc: MailboxInUse) -> Response:
        return _respond(request, 409, str(exc))

    @app.exception_handler(IntegrationUnavailable)
    async def integration_unavailable(request: Request, exc: IntegrationUnavailable) -> Response:
        return _respond(request, 409, exc.message)

    @app.exception_handler(TicketError)
    async def ticket_error(request: Request, exc: TicketError) -> Response:
        # 409/422, or 502/503 when Autotask failed during the operator's action.
        response = _respond(request, exc.status, exc.message, exc.details)
        retry_after = exc.details.get("retry_after")
        if exc.status == 503 and isinstance(retry_after, int | float):
            response.headers["Retry-After"] = str(max(1, int(retry_after)))
        return response

    @app.exception_handler(ConnectorError)
    async def connector_error(request: Request, exc: ConnectorError) -> Response:
        status, headers = connector_status(exc)
        details = {"remote_status": exc.status_code, "error_type": type(exc).__name__}
        response = _respond(request, status, exc.message, details)
        response.headers.update(headers)
        return response

    @app.exception_handler(InvalidCursor)
    async def invalid_cursor(request: Request, exc: InvalidCursor) -> Response:
        return _respond(
            request, 400, str(exc), {"fields": [{"field": "cursor", "message": str(exc)}]}
        )
