"""Graph change notifications for mail: ``/v1.0/subscriptions`` and the posts that follow.

Written from the Graph documentation (subscription resource, change notifications through
webhooks, validation of the notification endpoint):

- Creating a subscription first POSTs ``{notificationUrl}?validationToken=…`` (text/plain);
  the endpoint must answer 200 with the decoded token as a text/plain body within 10 seconds,
  or the subscription is refused (400). ``lifecycleNotificationUrl`` is validated the same way.
- Outlook message subscriptions last at most 10,080 minutes; ``PATCH`` renews,
  ``DELETE`` ends; an expired subscription is gone (404) and notifies nothing.
- A notification is ``{"value": [{subscriptionId, subscriptionExpirationDateTime, changeType,
  resource, resourceData: {@odata.type, @odata.id, id}, clientState, tenantId}]}`` with the
  message id only; the receiver answers 2xx (202) and fetches the message itself.

The sandbox differs from Graph in two ways it says out loud: it accepts ``http://`` URLs (Graph
requires https), and a failed notification is logged, not retried.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .principal import principal_of
from .resources import parse_resource
from .state import Change, GraphState, Message, Subscription
from .wire import error, immutable, iso, json_object

if TYPE_CHECKING:
    from .app import GraphEmulator

MAX_LIFETIME = timedelta(minutes=10080)
VALIDATION_TIMEOUT = 10.0
CHANGE_TYPES = frozenset({"created", "updated", "deleted"})


@asynccontextmanager
async def _client(emulator: GraphEmulator) -> AsyncIterator[httpx.AsyncClient]:
    if emulator.outbound is not None:
        yield emulator.outbound
    else:
        async with httpx.AsyncClient(timeout=VALIDATION_TIMEOUT) as client:
            yield client


def _json(sub: Subscription) -> dict[str, Any]:
    return {
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#subscriptions/$entity",
        "id": sub.id,
        "resource": sub.resource,
        "applicationId": sub.client_id,
        "changeType": ",".join(sorted(sub.change_types)),
        "clientState": sub.client_state,
        "notificationUrl": sub.notification_url,
        "lifecycleNotificationUrl": sub.lifecycle_url,
        "expirationDateTime": iso(sub.expires),
        "creatorId": sub.tenant_id,
        "includeResourceData": False,
        "latestSupportedTlsVersion": "v1_2",
    }


def _invalid(message: str) -> Response:
    return error(400, "InvalidRequest", message)


def _expiry(state: GraphState, value: Any) -> datetime | Response:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return _invalid("expirationDateTime is not a valid date and time.")
    if moment.tzinfo is None:
        return _invalid("expirationDateTime must carry a time zone.")
    now = state.now()
    if moment <= now or moment - now > MAX_LIFETIME:
        return _invalid("Subscription expiration can only be 10080 minutes in the future.")
    return moment


async def _validated(emulator: GraphEmulator, url: str) -> bool:
    token = (
        "Validation: Testing client application reachability for subscription Request-Id: "
        f"{uuid.uuid4()}"
    )
    try:
        async with _client(emulator) as client:
            answer = await client.post(
                url,
                params={"validationToken": token},
                headers={"Content-Type": "text/plain; charset=utf-8"},
                timeout=VALIDATION_TIMEOUT,
            )
    except httpx.HTTPError:
        return False
    return answer.status_code == 200 and answer.text == token


async def _create(request: Request, emulator: GraphEmulator) -> Response:
    state, principal = emulator.state, principal_of(request)
    payload = await json_object(request)
    if isinstance(payload, Response):
        return payload
    change_types = frozenset(str(payload.get("changeType", "")).replace(" ", "").split(","))
    if not change_types or not change_types <= CHANGE_TYPES:
        return _invalid("changeType must be created, updated, deleted or a list of them.")
    url = str(payload.get("notificationUrl") or "")
    lifecycle = payload.get("lifecycleNotificationUrl")
    for candidate in (url, lifecycle) if lifecycle else (url,):
        parts = urlsplit(str(candidate))
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return _invalid(f"The notification URL '{candidate}' is not a valid URL.")
    resource = str(payload.get("resource") or "")
    target = parse_resource(resource, principal.user.upn if principal.user else None)
    if target is None:
        return _invalid(f"Resource '{resource}' is not supported.")
    mailbox = state.mailbox(target[0])
    if mailbox is None:
        return error(404, "ErrorInvalidUser", f"The requested user '{target[0]}' is invalid.")
    folder = mailbox.folder(target[1]) if target[1] is not None else None
    if target[1] is not None and folder is None:
        return error(404, "ErrorItemNotFound", "The specified folder was not found.")
    if not principal.may(("Mail.Read", "Mail.ReadWrite")) or not principal.reaches(mailbox.address):
        return error(403, "ExtensionError", "Operation: Create; Exception: [Access denied]")
    expires = _expiry(state, payload.get("expirationDateTime"))
    if isinstance(expires, Response):
        return expires
    client_state = payload.get("clientState")
    if client_state is not None and len(str(client_state)) > 128:
        return _invalid("clientState must be at most 128 characters.")
    for candidate in (url, lifecycle) if lifecycle else (url,):
        if not await _validated(emulator, str(candidate)):
            return _invalid(
                "Subscription validation request failed. Notification endpoint must respond "
                "with 200 OK to validation request."
            )
    sub = Subscription(
        id=str(uuid.uuid4()),
        client_id=principal.client_id,
        tenant_id=principal.tenant_id,
        mailbox=mailbox.address.lower(),
        folder_id=folder.id if folder is not None else None,
        resource=resource,
        change_types=change_types,
        notification_url=url,
        lifecycle_url=str(lifecycle) if lifecycle else None,
        client_state=str(client_state) if client_state is not None else None,
        expires=expires,
        immutable_ids=immutable(request),
    )
    state.subscriptions[sub.id] = sub
    return JSONResponse(_json(sub), 201)


def _owned(request: Request, emulator: GraphEmulator) -> Subscription | Response:
    sub = emulator.state.subscriptions.get(request.path_params["subscription_id"])
    if sub is not None and sub.expires <= emulator.state.now():
        del emulator.state.subscriptions[sub.id]  # Graph drops expired subscriptions
        sub = None
    if sub is None or sub.client_id != principal_of(request).client_id:
        return error(404, "ResourceNotFound", "The object was not found.")
    return sub


def routes(emulator: GraphEmulator) -> list[Route]:
    async def collection(request: Request) -> Response:
        if request.method == "POST":
            return await _create(request, emulator)
        principal = principal_of(request)
        mine = [
            s for s in emulator.state.subscriptions.values() if s.client_id == principal.client_id
        ]
        return JSONResponse({"value": [_json(s) for s in mine]})

    async def item(request: Request) -> Response:
        sub = _owned(request, emulator)
        if isinstance(sub, Response):
            return sub
        if request.method == "DELETE":
            del emulator.state.subscriptions[sub.id]
            return Response(status_code=204)
        if request.method == "PATCH":
            payload = await json_object(request)
            if isinstance(payload, Response):
                return payload
            expires = _expiry(emulator.state, payload.get("expirationDateTime"))
            if isinstance(expires, Response):
                return expires
            sub.expires = expires
        return JSONResponse(_json(sub))

    root = emulator.graph_root
    return [
        Route("/v1.0/subscriptions", root(collection), methods=["GET", "POST"]),
        Route(
            "/v1.0/subscriptions/{subscription_id}",
            root(item),
            methods=["GET", "PATCH", "DELETE"],
        ),
    ]


# -- notifications --------------------------------------------------------------------------


def _notification(sub: Subscription, change: Change, msg: Message) -> dict[str, Any]:
    message_id = msg.immutable_id if sub.immutable_ids else msg.rest_id
    resource = f"Users/{sub.mailbox}/Messages/{message_id}"
    return {
        "subscriptionId": sub.id,
        "subscriptionExpirationDateTime": iso(sub.expires),
        "changeType": "created" if change.kind == "created" else "deleted",
        "resource": resource,
        "resourceData": {
            "@odata.type": "#Microsoft.Graph.Message",
            "@odata.id": resource,
            "@odata.etag": f'W/"{secrets.token_hex(8)}"',
            "id": message_id,
        },
        "clientState": sub.client_state,
        "tenantId": sub.tenant_id,
    }


async def _post_all(emulator: GraphEmulator, batches: dict[str, list[dict[str, Any]]]) -> None:
    async with _client(emulator) as client:
        for url, values in batches.items():
            entry: dict[str, Any] = {"url": url, "value": values}
            try:
                answer = await client.post(url, json={"value": values})
                entry["status"] = answer.status_code
            except httpx.HTTPError as exc:
                entry["error"] = type(exc).__name__
            emulator.state.notifications.append(entry)


def with_deliveries(emulator: GraphEmulator, response: Response) -> Response:
    """The response, posting the notifications its request caused once it has been sent."""
    state = emulator.state
    if not state.pending:
        return response
    batches: dict[str, list[dict[str, Any]]] = {}
    for sub, change, message in state.pending:
        batches.setdefault(sub.notification_url, []).append(_notification(sub, change, message))
    state.pending.clear()
    response.background = BackgroundTask(_post_all, emulator, batches)
    return response
