"""The admin API under ``/_emulator/`` (no token: it is the test's, or the sandbox user's,
side of the tenant and its mailboxes).

POST /_emulator/mailboxes/{user}/folders/{folder}/messages   raw MIME in; ?received=ISO
GET  /_emulator/mailboxes/{user}/folders                     folders and the ids inside
POST /_emulator/faults           {"status": 429|5xx, "retry_after", "count"}: next Graph calls
GET|DELETE /_emulator/requests   the Graph request log
POST /_emulator/expire-delta-tokens       every delta and skip token answers 410 Gone
POST /_emulator/identity/expire-refresh-tokens   every refresh token so far: AADSTS700082
POST /_emulator/identity/expire-access-tokens    every access token so far: 401 at Graph
PUT  /_emulator/apps/{client_id}/consent  {"granted": false}: withdraw (or give) consent
POST /_emulator/devicelogin      {"user_code", "user", "decline"}: the sign-in page, as JSON
GET  /_emulator/sent             mail sent through sendMail or reply, oldest first
GET  /_emulator/subscriptions    every live subscription; GET /_emulator/notifications: posts
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import subscriptions
from .messages import sent_json
from .state import Fault
from .wire import error, iso

if TYPE_CHECKING:
    from .app import GraphEmulator


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        payload = await request.json()
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}


def routes(emulator: GraphEmulator) -> list[Route]:
    state = emulator.state
    identity = state.identity
    assert identity is not None

    async def add_message(request: Request) -> Response:
        mailbox = state.mailbox(request.path_params["user"], create=True)
        assert mailbox is not None
        folder = mailbox.folder(request.path_params["folder"])
        if folder is None:
            return error(404, "ErrorItemNotFound", "No such folder.")
        received = request.query_params.get("received")
        when = datetime.fromisoformat(received) if received else state.now()
        message = mailbox.add(folder, await request.body(), when)
        created = {
            "id": message.immutable_id,
            "restId": message.rest_id,
            "internetMessageId": message.internet_message_id,
            "conversationId": message.conversation_id,
        }
        return subscriptions.with_deliveries(emulator, JSONResponse(created, 201))

    async def folders(request: Request) -> Response:
        mailbox = state.mailbox(request.path_params["user"], create=True)
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

    async def faults(request: Request) -> Response:
        payload = await _json_body(request)
        status = int(payload.get("status", 429))
        if status not in (429, 500, 502, 503, 504):
            return error(400, "BadRequest", "status must be 429 or a 5xx")
        retry_after = payload.get("retry_after")
        fault = Fault(
            status=status,
            retry_after=int(retry_after) if retry_after is not None else None,
            remaining=max(1, int(payload.get("count", 1))),
        )
        state.faults.append(fault)
        return JSONResponse({"queued": len(state.faults)}, 201)

    async def requests(request: Request) -> Response:
        if request.method == "DELETE":
            state.requests.clear()
            return Response(status_code=204)
        return JSONResponse(state.requests)

    async def expire_delta_tokens(request: Request) -> Response:
        state.generation += 1
        return JSONResponse({"generation": state.generation})

    async def expire_refresh_tokens(request: Request) -> Response:
        return JSONResponse({"expired": identity.expire_refresh_tokens()})

    async def expire_access_tokens(request: Request) -> Response:
        return JSONResponse({"expired": identity.expire_access_tokens()})

    async def consent(request: Request) -> Response:
        app = identity.app(request.path_params["client_id"])
        if app is None:
            return error(404, "NotFound", "No such app registration.")
        app.admin_consent = bool((await _json_body(request)).get("granted", True))
        return JSONResponse({"clientId": app.client_id, "adminConsent": app.admin_consent})

    async def devicelogin(request: Request) -> Response:
        payload = await _json_body(request)
        try:
            flow = identity.approve(
                str(payload.get("user_code", "")),
                str(payload.get("user", "")),
                decline=bool(payload.get("decline", False)),
            )
        except LookupError as exc:
            return error(400, "BadRequest", str(exc))
        approved = flow.approved_by.upn if flow.approved_by else None
        return JSONResponse({"approvedBy": approved, "declined": flow.declined})

    async def sent(request: Request) -> Response:
        return JSONResponse([sent_json(s, i) for i, s in enumerate(state.sent)])

    async def live_subscriptions(request: Request) -> Response:
        now = state.now()
        return JSONResponse(
            [
                {
                    "id": s.id,
                    "resource": s.resource,
                    "expirationDateTime": iso(s.expires),
                    "changeType": ",".join(sorted(s.change_types)),
                    "notificationUrl": s.notification_url,
                    "lifecycleNotificationUrl": s.lifecycle_url,
                    # The tenant's side sees the secret, so a test can forge or match it.
                    "clientState": s.client_state,
                }
                for s in state.subscriptions.values()
                if s.expires > now
            ]
        )

    async def notifications(request: Request) -> Response:
        return JSONResponse(state.notifications)

    return [
        Route(
            "/_emulator/mailboxes/{user}/folders/{folder}/messages", add_message, methods=["POST"]
        ),
        Route("/_emulator/mailboxes/{user}/folders", folders),
        Route("/_emulator/faults", faults, methods=["POST"]),
        Route("/_emulator/requests", requests, methods=["GET", "DELETE"]),
        Route("/_emulator/expire-delta-tokens", expire_delta_tokens, methods=["POST"]),
        Route("/_emulator/identity/expire-refresh-tokens", expire_refresh_tokens, methods=["POST"]),
        Route("/_emulator/identity/expire-access-tokens", expire_access_tokens, methods=["POST"]),
        Route("/_emulator/apps/{client_id}/consent", consent, methods=["PUT"]),
        Route("/_emulator/devicelogin", devicelogin, methods=["POST"]),
        Route("/_emulator/sent", sent),
        Route("/_emulator/subscriptions", live_subscriptions),
        Route("/_emulator/notifications", notifications),
    ]
