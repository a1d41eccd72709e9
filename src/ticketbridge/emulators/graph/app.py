"""The HTTP side of the Graph emulator: the handful of Microsoft Graph v1.0 mail calls a mail
intake needs, plus an admin API under ``/_emulator/``.

Graph calls served (app-only style, ``/users/{mailbox}/...``; never ``/me``):

- ``GET  /v1.0/users/{u}/mailFolders/{folder}/messages/delta``  (``$select``, ``$deltatoken``,
  ``$skiptoken``; ``Prefer: odata.maxpagesize=N``; 410 Gone for an expired token)
- ``GET  /v1.0/users/{u}/messages/{id}/$value``                  raw MIME
- ``POST /v1.0/users/{u}/messages/{id}/move``                    ``{"destinationId": ...}``
- ``GET  /v1.0/users/{u}/mailFolders/{folder}``
- ``GET  /v1.0/users/{u}/mailFolders/{folder}/childFolders``      ``$filter=displayName eq '…'``
- ``POST /v1.0/users/{u}/mailFolders/{folder}/childFolders``      ``{"displayName": ...}``

Every Graph call needs ``Authorization: Bearer <token>`` with a token given to `create_app`.
``Prefer: IdType="ImmutableId"`` makes ids stable across moves, as in Graph; without it a moved
message gets a new id. The admin API needs no token: it is the test's side of the mailbox.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .state import Fault, Folder, GraphState, Mailbox, Message

DEFAULT_TOKEN = "graph-emulator-token"
DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 1000
DEFAULT_SELECT = (
    "subject",
    "from",
    "receivedDateTime",
    "internetMessageId",
    "isRead",
    "hasAttachments",
    "parentFolderId",
)
_FILTER = re.compile(r"^\s*displayName\s+eq\s+'((?:[^']|'')*)'\s*$")

Handler = Callable[[Request, Mailbox], Awaitable[Response]]


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse({"error": {"code": code, "message": message}}, status, headers=headers)


def _prefer(request: Request) -> dict[str, str]:
    """All Prefer preferences, whether sent as one comma-joined header or several."""
    found: dict[str, str] = {}
    for header in request.headers.getlist("prefer"):
        for part in header.split(","):
            name, _, value = part.strip().partition("=")
            if name:
                found[name.strip().lower()] = value.strip().strip('"')
    return found


def _immutable(request: Request) -> bool:
    return _prefer(request).get("idtype", "").lower() == "immutableid"


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _message_json(msg: Message, immutable: bool, select: Iterable[str]) -> dict[str, Any]:
    full: dict[str, Any] = {
        "subject": msg.subject,
        "from": {"emailAddress": {"name": msg.sender[0], "address": msg.sender[1]}},
        "receivedDateTime": _iso(msg.received),
        "internetMessageId": msg.internet_message_id,
        "isRead": msg.is_read,
        "hasAttachments": msg.has_attachments,
        "parentFolderId": msg.folder_id,
    }
    body: dict[str, Any] = {
        "@odata.type": "#microsoft.graph.message",
        "id": msg.immutable_id if immutable else msg.rest_id,
    }
    body.update({name: full[name] for name in select if name in full})
    return body


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


def _encode_token(payload: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def _decode_token(token: str) -> dict[str, Any] | None:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, binascii.Error):
        return None
    return decoded if isinstance(decoded, dict) else None


class GraphEmulator:
    def __init__(self, state: GraphState) -> None:
        self.state = state

    # -- the Graph side -----------------------------------------------------------------------

    def graph(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            response = await self._guarded(request, handler)
            self.state.requests[-1]["status"] = response.status_code
            return response

        return endpoint

    async def _guarded(self, request: Request, handler: Handler) -> Response:
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
            return _error(fault.status, code, "Injected by the emulator.", headers)
        auth = request.headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or token not in self.state.tokens:
            return _error(
                401,
                "InvalidAuthenticationToken",
                "Access token is empty." if not auth else "Access token validation failure.",
                {"WWW-Authenticate": 'Bearer realm=""'},
            )
        mailbox = self.state.mailbox(request.path_params["user"])
        if mailbox is None:
            return _error(
                404,
                "ErrorInvalidUser",
                f"The requested user '{request.path_params['user']}' is invalid.",
            )
        return await handler(request, mailbox)

    async def delta(self, request: Request, mailbox: Mailbox) -> Response:
        folder = mailbox.folder(request.path_params["folder"])
        if folder is None:
            return _error(404, "ErrorItemNotFound", "The specified object was not found.")
        query = request.query_params
        token_text = query.get("$deltatoken") or query.get("$skiptoken")
        if token_text:
            token = _decode_token(token_text)
            if token is None or token.get("f") != folder.id:
                return _error(400, "BadRequest", "The delta or skip token is malformed.")
            if token.get("g") != self.state.generation:
                return _error(410, "SyncStateNotFound", "The sync state has expired.")
            since = int(token["s"]) if "$deltatoken" in query else int(token["since"])
            upto = mailbox.seq if "$deltatoken" in query else int(token["u"])
            offset = 0 if "$deltatoken" in query else int(token["o"])
            select = list(token["sel"])
        else:
            since, upto, offset = 0, mailbox.seq, 0
            raw_select = query.get("$select")
            select = [s.strip() for s in raw_select.split(",")] if raw_select else []
            select = select or list(DEFAULT_SELECT)
        page_size = DEFAULT_PAGE_SIZE
        preference = _prefer(request).get("odata.maxpagesize")
        if preference and preference.isdigit():
            page_size = max(1, min(int(preference), MAX_PAGE_SIZE))
        rows = mailbox.delta_rows(folder.id, since, upto)
        page = rows[offset : offset + page_size]
        immutable = _immutable(request)
        values: list[dict[str, Any]] = []
        for message, kind in page:
            if kind == "removed":
                values.append(
                    {
                        "@odata.type": "#microsoft.graph.message",
                        "id": message.immutable_id if immutable else message.rest_id,
                        "@removed": {"reason": "deleted"},
                    }
                )
            else:
                values.append(_message_json(message, immutable, select))
        base = f"{request.url.scheme}://{request.url.netloc}/v1.0/users/"
        link = f"{base}{request.path_params['user']}/mailFolders/{folder.id}/messages/delta"
        body: dict[str, Any] = {"value": values}
        gen = self.state.generation
        if offset + page_size < len(rows):
            skip = {"f": folder.id, "g": gen, "since": since, "u": upto, "o": offset + page_size}
            body["@odata.nextLink"] = f"{link}?$skiptoken={_encode_token({**skip, 'sel': select})}"
        else:
            delta = {"f": folder.id, "g": gen, "s": upto, "sel": select}
            body["@odata.deltaLink"] = f"{link}?$deltatoken={_encode_token(delta)}"
        applied = {"Preference-Applied": f"odata.maxpagesize={page_size}"} if preference else None
        return JSONResponse(body, headers=applied)

    async def mime(self, request: Request, mailbox: Mailbox) -> Response:
        message = mailbox.message(request.path_params["message_id"])
        if message is None:
            return _error(404, "ErrorItemNotFound", "The specified object was not found.")
        return Response(message.raw, media_type="text/plain")

    async def move(self, request: Request, mailbox: Mailbox) -> Response:
        message = mailbox.message(request.path_params["message_id"])
        if message is None:
            return _error(404, "ErrorItemNotFound", "The specified object was not found.")
        try:
            payload = await request.json()
        except ValueError:
            return _error(400, "RequestBodyRead", "The request body is not valid JSON.")
        destination_ref = payload.get("destinationId") if isinstance(payload, dict) else None
        if not isinstance(destination_ref, str) or not destination_ref:
            return _error(400, "ErrorInvalidIdMalformed", "destinationId is required.")
        destination = mailbox.folder(destination_ref)
        if destination is None:
            return _error(404, "ErrorItemNotFound", "The destination folder was not found.")
        mailbox.move(message, destination)
        return JSONResponse(_message_json(message, _immutable(request), DEFAULT_SELECT), 201)

    async def get_folder(self, request: Request, mailbox: Mailbox) -> Response:
        folder = mailbox.folder(request.path_params["folder"])
        if folder is None:
            return _error(404, "ErrorItemNotFound", "The specified object was not found.")
        return JSONResponse(_folder_json(mailbox, folder))

    async def child_folders(self, request: Request, mailbox: Mailbox) -> Response:
        parent = mailbox.folder(request.path_params["folder"])
        if parent is None:
            return _error(404, "ErrorItemNotFound", "The specified object was not found.")
        children = mailbox.children(parent)
        if request.method == "POST":
            payload = await request.json()
            name = payload.get("displayName") if isinstance(payload, dict) else None
            if not isinstance(name, str) or not name.strip():
                return _error(400, "ErrorInvalidRequest", "displayName is required.")
            if any(c.display_name.lower() == name.lower() for c in children):
                return _error(409, "ErrorFolderExists", "A folder with that name already exists.")
            created = mailbox.create_child(parent, name)
            return JSONResponse(_folder_json(mailbox, created), 201)
        wanted = request.query_params.get("$filter")
        if wanted is not None:
            match = _FILTER.match(wanted)
            if match is None:
                return _error(400, "BadRequest", "Only displayName eq '...' filters are emulated.")
            # Exchange compares display names case-insensitively.
            name = match.group(1).replace("''", "'").lower()
            children = [c for c in children if c.display_name.lower() == name]
        return JSONResponse({"value": [_folder_json(mailbox, c) for c in children]})

    # -- the admin side -----------------------------------------------------------------------

    async def admin_add_message(self, request: Request) -> Response:
        mailbox = self.state.mailbox(request.path_params["user"], create=True)
        assert mailbox is not None
        folder = mailbox.folder(request.path_params["folder"])
        if folder is None:
            return _error(404, "ErrorItemNotFound", "No such folder.")
        received = request.query_params.get("received")
        when = datetime.fromisoformat(received) if received else self.state.now()
        message = mailbox.add(folder, await request.body(), when)
        return JSONResponse(
            {
                "id": message.immutable_id,
                "restId": message.rest_id,
                "internetMessageId": message.internet_message_id,
            },
            201,
        )

    async def admin_folders(self, request: Request) -> Response:
        mailbox = self.state.mailbox(request.path_params["user"], create=True)
        assert mailbox is not None
        listing = []
        for folder in mailbox.folders.values():
            inside = [m.immutable_id for m in mailbox.messages.values() if m.folder_id == folder.id]
            listing.append(
                {
                    "id": folder.id,
                    "displayName": folder.display_name,
                    "wellKnownName": folder.well_known,
                    "parentFolderId": folder.parent_id,
                    "messages": inside,
                }
            )
        return JSONResponse(listing)

    async def admin_faults(self, request: Request) -> Response:
        payload = await request.json()
        status = int(payload.get("status", 429))
        if status not in (429, 500, 502, 503, 504):
            return _error(400, "BadRequest", "status must be 429 or a 5xx")
        retry_after = payload.get("retry_after")
        fault = Fault(
            status=status,
            retry_after=int(retry_after) if retry_after is not None else None,
            remaining=max(1, int(payload.get("count", 1))),
        )
        self.state.faults.append(fault)
        return JSONResponse({"queued": len(self.state.faults)}, 201)

    async def admin_requests(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.state.requests.clear()
            return Response(status_code=204)
        return JSONResponse(self.state.requests)

    async def admin_expire_tokens(self, request: Request) -> Response:
        self.state.generation += 1
        return JSONResponse({"generation": self.state.generation})


def create_app(
    *, tokens: Iterable[str] = (DEFAULT_TOKEN,), clock: Callable[[], datetime] | None = None
) -> Starlette:
    """A Graph mail emulator as an ASGI app; ``app.state.graph`` is its :class:`GraphState`."""
    state = GraphState(tokens=set(tokens), clock=clock)
    emulator = GraphEmulator(state)
    users = "/v1.0/users/{user}"
    routes = [
        Route(f"{users}/mailFolders/{{folder}}/messages/delta", emulator.graph(emulator.delta)),
        Route(
            f"{users}/mailFolders/{{folder}}/childFolders",
            emulator.graph(emulator.child_folders),
            methods=["GET", "POST"],
        ),
        Route(f"{users}/mailFolders/{{folder}}", emulator.graph(emulator.get_folder)),
        Route(f"{users}/messages/{{message_id}}/$value", emulator.graph(emulator.mime)),
        Route(
            f"{users}/messages/{{message_id}}/move",
            emulator.graph(emulator.move),
            methods=["POST"],
        ),
        Route(
            "/_emulator/mailboxes/{user}/folders/{folder}/messages",
            emulator.admin_add_message,
            methods=["POST"],
        ),
        Route("/_emulator/mailboxes/{user}/folders", emulator.admin_folders),
        Route("/_emulator/faults", emulator.admin_faults, methods=["POST"]),
        Route("/_emulator/requests", emulator.admin_requests, methods=["GET", "DELETE"]),
        Route("/_emulator/expire-delta-tokens", emulator.admin_expire_tokens, methods=["POST"]),
    ]
    app = Starlette(routes=routes)
    app.state.graph = state
    return app
