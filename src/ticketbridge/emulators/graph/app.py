"""The HTTP side of the Graph emulator: the Microsoft Graph v1.0 mail calls ticketbridge needs,
the Entra ID token endpoints msal talks to, and an admin API under ``/_emulator/``.

Graph calls served, under ``/v1.0/users/{id or UPN}`` (app-only) or ``/v1.0/me`` (delegated):

- ``GET  mailFolders/{folder}/messages/delta``  (``$select``, ``$deltatoken``, ``$skiptoken``;
  ``Prefer: odata.maxpagesize=N``; 410 Gone for an expired token)
- ``GET  messages``, ``mailFolders/{folder}/messages`` (``$select``, ``$top``, ``$skip``,
  ``$filter=conversationId eq '…'``), ``GET messages/{id}`` (``$select``)
- ``GET  messages/{id}/$value`` raw MIME; ``POST messages/{id}/move``
- ``GET  messages/{id}/attachments``, ``…/attachments/{aid}``, ``…/attachments/{aid}/$value``
- ``POST sendMail`` (JSON or base64 MIME), ``POST messages/{id}/reply``
- ``GET|POST mailFolders/{folder}/childFolders``, ``GET mailFolders/{folder}``
- ``GET|POST /v1.0/subscriptions``, ``GET|PATCH|DELETE /v1.0/subscriptions/{id}``

Every Graph call needs ``Authorization: Bearer <token>``: one the token endpoint issued (see
:mod:`.authority`), or one of the fixed ``tokens`` given to `create_app` (every permission,
app-only; what in-process tests use). ``Prefer: IdType="ImmutableId"`` makes ids stable across
moves, as in Graph. The admin API needs no token: it is the test's side of the mailbox.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import admin, authority, demo, messages, subscriptions
from .delta import delta
from .directory import Tenant
from .identity import Identity
from .principal import Principal, authenticate
from .state import Fault, Folder, GraphState, Mailbox
from .wire import error, not_found

DEFAULT_TOKEN = "graph-emulator-token"
READ = ("Mail.Read", "Mail.ReadWrite")
WRITE = ("Mail.ReadWrite",)
SEND = ("Mail.Send",)
_FILTER = re.compile(r"^\s*displayName\s+eq\s+'((?:[^']|'')*)'\s*$")

Handler = Callable[[Request, Mailbox], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


def _folder_json(mailbox: Mailbox, folder: Folder) -> dict[str, Any]:
    inside = [m for m in mailbox.messages.values() if m.folder_id == folder.id]
    return {
        "id": folder.id,
        "displayName": folder.display_name,
        "parentFolderId": folder.parent_id,
        "childFolderCount": len(mailbox.children(folder)),
        "unreadItemCount": sum(1 for m in inside if not m.is_read),
        "totalItemCount": len(inside),
    }


class GraphEmulator:
    def __init__(
        self, state: GraphState, outbound: httpx.AsyncClient | None, public_url: str | None
    ) -> None:
        self.state = state
        self.outbound = outbound
        self.public_url = public_url

    def base_url(self, request: Request) -> str:
        """``public_url``, else the address the server accepted the connection on (never the
        client's Host header)."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host, port = request.scope.get("server") or ("127.0.0.1", 80)
        shown = f"[{host}]" if ":" in str(host) else host
        default = 443 if request.url.scheme == "https" else 80
        return f"{request.url.scheme}://{shown}" + ("" if port == default else f":{port}")

    # -- the Graph side -----------------------------------------------------------------------

    def graph(self, handler: Handler, needs: tuple[str, ...] = READ) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            response = await self._guarded(request, handler, needs)
            self.state.requests[-1]["status"] = response.status_code
            return subscriptions.with_deliveries(self, response)

        return endpoint

    def graph_root(self, handler: Endpoint) -> Endpoint:
        """A Graph call outside a mailbox (``/subscriptions``): token and faults only."""

        async def endpoint(request: Request) -> Response:
            refused = self._admitted(request)
            if isinstance(refused, Response):
                response = refused
            else:
                request.state.principal = refused
                response = await handler(request)
            self.state.requests[-1]["status"] = response.status_code
            return response

        return endpoint

    def _admitted(self, request: Request) -> Principal | Response:
        self.state.requests.append(
            {
                "method": request.method,
                "path": request.url.path,
                "query": dict(request.query_params),
                "prefer": request.headers.getlist("prefer"),
                "status": None,
            }
        )
        fault: Fault | None = self.state.next_fault()
        if fault is not None:
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after else None
            code = "TooManyRequests" if fault.status == 429 else "ServiceUnavailable"
            return error(fault.status, code, "Injected by the emulator.", headers)
        return authenticate(self.state, request.headers.get("authorization", ""))

    async def _guarded(
        self, request: Request, handler: Handler, needs: tuple[str, ...]
    ) -> Response:
        principal = self._admitted(request)
        if isinstance(principal, Response):
            return principal
        request.state.principal = principal
        ref = request.path_params.get("user")
        if ref is None:  # /me
            if principal.user is None:
                return error(
                    400,
                    "BadRequest",
                    "/me request is only valid with delegated authentication flow.",
                )
            ref = principal.user.upn
        mailbox = self.state.mailbox(ref)
        if mailbox is None:
            return error(404, "ErrorInvalidUser", f"The requested user '{ref}' is invalid.")
        if not principal.may(needs) or not principal.reaches(mailbox.address):
            return error(
                403, "ErrorAccessDenied", "Access is denied. Check credentials and try again."
            )
        return await handler(request, mailbox)

    async def move(self, request: Request, mailbox: Mailbox) -> Response:
        found = await messages.action_on(request, mailbox)
        if isinstance(found, Response):
            return found
        message, payload = found
        destination_ref = payload.get("destinationId")
        if not isinstance(destination_ref, str) or not destination_ref:
            return error(400, "ErrorInvalidIdMalformed", "destinationId is required.")
        destination = mailbox.folder(destination_ref)
        if destination is None:
            return error(404, "ErrorItemNotFound", "The destination folder was not found.")
        mailbox.move(message, destination)
        return await messages.one(request, mailbox, message, status=201)

    async def get_folder(self, request: Request, mailbox: Mailbox) -> Response:
        folder = mailbox.folder(request.path_params["folder"])
        if folder is None:
            return not_found()
        return JSONResponse(_folder_json(mailbox, folder))

    async def child_folders(self, request: Request, mailbox: Mailbox) -> Response:
        parent = mailbox.folder(request.path_params["folder"])
        if parent is None:
            return not_found()
        children = mailbox.children(parent)
        if request.method == "POST":
            payload = await request.json()
            name = payload.get("displayName") if isinstance(payload, dict) else None
            if not isinstance(name, str) or not name.strip():
                return error(400, "ErrorInvalidRequest", "displayName is required.")
            if any(c.display_name.lower() == name.lower() for c in children):
                return error(409, "ErrorFolderExists", "A folder with that name already exists.")
            created = mailbox.create_child(parent, name)
            return JSONResponse(_folder_json(mailbox, created), 201)
        wanted = request.query_params.get("$filter")
        if wanted is not None:
            match = _FILTER.match(wanted)
            if match is None:
                return error(400, "BadRequest", "Only displayName eq '...' filters are emulated.")
            # Exchange compares display names case-insensitively.
            name = match.group(1).replace("''", "'").lower()
            children = [c for c in children if c.display_name.lower() == name]
        return JSONResponse({"value": [_folder_json(mailbox, c) for c in children]})


def _mail_routes(emulator: GraphEmulator, prefix: str) -> list[Route]:
    g = emulator.graph
    m = f"{prefix}/messages/{{message_id}}"
    return [
        Route(f"{prefix}/mailFolders/{{folder}}/messages/delta", g(delta)),
        Route(f"{prefix}/mailFolders/{{folder}}/messages", g(messages.listing)),
        Route(
            f"{prefix}/mailFolders/{{folder}}/childFolders",
            g(emulator.child_folders, WRITE),
            methods=["GET", "POST"],
        ),
        Route(f"{prefix}/mailFolders/{{folder}}", g(emulator.get_folder)),
        Route(f"{prefix}/messages", g(messages.listing)),
        Route(m, g(messages.get)),
        Route(f"{m}/$value", g(messages.mime_value)),
        Route(f"{m}/move", g(emulator.move, WRITE), methods=["POST"]),
        Route(f"{m}/attachments", g(messages.attachments)),
        Route(f"{m}/attachments/{{attachment_id}}", g(messages.attachment)),
        Route(f"{m}/attachments/{{attachment_id}}/$value", g(messages.attachment_value)),
        Route(f"{m}/reply", g(messages.reply, SEND), methods=["POST"]),
        Route(f"{prefix}/sendMail", g(messages.send_mail, SEND), methods=["POST"]),
    ]


def create_app(
    *,
    tokens: Iterable[str] = (DEFAULT_TOKEN,),
    clock: Callable[[], datetime] | None = None,
    tenants: Iterable[Tenant] | None = None,
    outbound_client: httpx.AsyncClient | None = None,
    public_url: str | None = None,
    seed: str | None = None,
) -> Starlette:
    """A Graph mail emulator with its Entra ID token endpoints, as an ASGI app.

    ``tokens`` are fixed bearer tokens with every permission (pass ``()`` to accept only issued
    tokens, as the sandbox does); ``tenants`` default to the demo tenant (:mod:`.demo`);
    ``outbound_client`` posts validation requests and change notifications (default: a new
    ``httpx.AsyncClient`` each time); ``seed`` ``"empty"`` gives the demo users their
    mailboxes, ``"demo"`` also a first mail (default: no mailbox until the admin API makes one).
    ``app.state.graph`` is the :class:`GraphState`.
    """
    state = GraphState(tokens=set(tokens), clock=clock)
    state.identity = Identity(demo.tenants() if tenants is None else tenants, state.now)
    if seed is not None:
        demo.seed(state, seed)
    emulator = GraphEmulator(state, outbound_client, public_url)
    routes = [
        *_mail_routes(emulator, "/v1.0/users/{user}"),
        *_mail_routes(emulator, "/v1.0/me"),
        *subscriptions.routes(emulator),
        *authority.routes(emulator),
        *admin.routes(emulator),
    ]
    app = Starlette(routes=routes)
    app.state.graph = state
    app.state.emulator = emulator
    return app
