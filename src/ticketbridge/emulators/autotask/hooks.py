"""Calls out of the emulator: ticket webhooks and extension callouts, through one outbox.

Events collected during a request become deliveries with a due time on the emulator's clock.
Nothing is sent until :meth:`Outbox.deliver_due` runs: tests call it (or POST
/_emulator/hooks/deliver) after moving the clock, the served CLI runs it in a loop.

Webhooks: one attempt per event; 25 consecutive failures deactivate the webhook and notify its
deactivation URL. Callouts: retried every 60 s (divided by --speed) up to 10 times on a 4xx,
5xx or transport error.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any

import httpx

from . import dates
from .callouts import build_request, callout_fields
from .entities import webhook_field_ids
from .store import Row, Store
from .urls import http_url_problem

WEBHOOK_FAILURE_LIMIT = 25
CALLOUT_RETRIES = 10
CALLOUT_INTERVAL = 60.0
_ESCAPED = {"&", "<", ">", "'", '"', "`", "+"}

OutboundClient = httpx.Client | httpx.AsyncClient


def dotnet_json(value: Any) -> str:
    """Compact JSON with the .NET escaping receivers must verify byte for byte."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, str):
        return '"' + "".join(_escape_char(c) for c in value) + '"'
    if isinstance(value, dict):
        return (
            "{"
            + ",".join(f"{dotnet_json(str(k))}:{dotnet_json(v)}" for k, v in value.items())
            + "}"
        )
    if isinstance(value, list | tuple):
        return "[" + ",".join(dotnet_json(v) for v in value) + "]"
    return dotnet_json(str(value))


def _escape_char(c: str) -> str:
    simple = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}
    if c in simple:
        return simple[c]
    code = ord(c)
    if c in _ESCAPED or code < 0x20 or (0x7F <= code <= 0xFFFF and code > 0x7E):
        return f"\\u{code:04X}"
    if code > 0xFFFF:
        high, low = divmod(code - 0x10000, 0x400)
        return f"\\u{0xD800 + high:04X}\\u{0xDC00 + low:04X}"
    return c


def signature(secret: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), body, hashlib.sha1).digest()
    return "sha1=" + base64.b64encode(digest).decode()


def pascal(name: str) -> str:
    return name[:1].upper() + name[1:]


@dataclass
class Delivery:
    id: int
    kind: str  # webhook | deactivation | callout
    target_id: int
    method: str
    url: str
    headers: dict[str, str]
    body: bytes
    due: float
    attempts: int = 0
    max_attempts: int = 1
    interval: float = 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "target_id": self.target_id,
            "url": self.url,
            "method": self.method,
            "due": self.due,
            "attempts": self.attempts,
            "body": self.body.decode("utf-8", "replace"),
            "headers": dict(self.headers),
        }


@dataclass
class Outbox:
    client: OutboundClient | None = None
    pending: list[Delivery] = field(default_factory=list)
    log: list[dict[str, Any]] = field(default_factory=list)
    next_id: int = 1

    def add(
        self,
        kind: str,
        target_id: int,
        request: dict[str, Any],
        due: float,
        max_attempts: int = 1,
        interval: float = 0.0,
    ) -> Delivery:
        item = Delivery(
            self.next_id,
            kind,
            target_id,
            request["method"],
            request["url"],
            request["headers"],
            request["body"],
            due,
            0,
            max_attempts,
            interval,
        )
        self.next_id += 1
        self.pending.append(item)
        return item

    async def deliver_due(self, store: Store, now: float, now_text: str) -> list[dict[str, Any]]:
        due = [d for d in self.pending if d.due <= now]
        results = []
        for item in due:
            item.attempts += 1
            status, error = await self._send(item)
            ok = status is not None and 200 <= status < 300
            record = {
                "delivery": item.id,
                "kind": item.kind,
                "target_id": item.target_id,
                "url": item.url,
                "attempt": item.attempts,
                "status": status,
                "error": error,
                "ok": ok,
                "at": now_text,
            }
            self.log.append(record)
            results.append(record)
            if ok or item.attempts >= item.max_attempts:
                self.pending.remove(item)
            else:
                item.due = now + item.interval
            if item.kind == "webhook":
                self._count_webhook(store, item, ok, now, now_text)
        return results

    async def _send(self, item: Delivery) -> tuple[int | None, str | None]:
        problem = http_url_problem(item.url)
        if problem is not None:  # a restored snapshot or a hand-written state file
            return None, f"refused: {problem}"
        client = self.client
        if client is None:
            client = self.client = httpx.AsyncClient(timeout=10.0)
        try:
            if isinstance(client, httpx.AsyncClient):
                resp = await client.request(
                    item.method, item.url, headers=item.headers, content=item.body or None
                )
            else:
                resp = client.request(
                    item.method, item.url, headers=item.headers, content=item.body or None
                )
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"
        return resp.status_code, None

    def _count_webhook(
        self, store: Store, item: Delivery, ok: bool, now: float, now_text: str
    ) -> None:
        webhook = store.get("TicketWebhooks", item.target_id)
        if webhook is None:
            return
        if ok:
            webhook["_failures"] = 0
            return
        webhook["_failures"] = int(webhook.get("_failures") or 0) + 1
        if webhook["_failures"] >= WEBHOOK_FAILURE_LIMIT and webhook.get("isActive"):
            webhook["isActive"] = False
            payload = {
                "Action": "Deactivated",
                "Guid": webhook.get("webhookGUID"),
                "EntityType": "Ticket",
                "Id": webhook["id"],
                "Fields": {},
                "EventTime": now_text,
                "SequenceNumber": _next_sequence(webhook),
                "PersonID": None,
            }
            self.add(
                "deactivation",
                webhook["id"],
                _signed(webhook, str(webhook.get("deactivationUrl")), payload),
                now,
            )


def _next_sequence(webhook: Row) -> int:
    webhook["_sequence"] = int(webhook.get("_sequence") or 0) + 1
    return int(webhook["_sequence"])


def _signed(webhook: Row, url: str, payload: dict[str, Any]) -> dict[str, Any]:
    body = dotnet_json(payload).encode()
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "X-Hook-Signature": signature(str(webhook.get("secretKey") or ""), body),
    }
    return {"method": "POST", "url": url, "headers": headers, "body": body}


def _webhook_fields(store: Store, webhook_id: int) -> tuple[set[str], set[str]]:
    names = webhook_field_ids()
    subscribed: set[str] = set()
    always: set[str] = set()
    for row in store.table("TicketWebhookFields").values():
        if row.get("webhookID") != webhook_id:
            continue
        name = names.get(int(row.get("fieldID") or 0))
        if name is None:
            continue
        if row.get("isSubscribedField"):
            subscribed.add(name)
        if row.get("isDisplayAlwaysField"):
            always.add(name)
    return subscribed, always


def _excluded(store: Store, webhook_id: int, resource_id: int) -> bool:
    return any(
        r.get("webhookID") == webhook_id and r.get("resourceID") == resource_id
        for r in store.table("TicketWebhookExcludedResources").values()
    )


def _wire(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)


def ticket_events(
    outbox: Outbox,
    store: Store,
    events: list[tuple[str, str, Row, set[str]]],
    person_id: int,
    now: float,
    domain: str,
    speed: float,
) -> None:
    merged: dict[int, tuple[str, Row, set[str]]] = {}
    for entity, action, row, changed in events:
        if entity != "Tickets":
            continue
        previous = merged.get(row["id"])
        if previous is None:
            merged[row["id"]] = (action, row, set(changed))
        else:
            keep = previous[0] if previous[0] in {"Create", "Delete"} else action
            merged[row["id"]] = (keep, row, previous[2] | changed)
    for action, row, changed in merged.values():
        _queue_webhooks(outbox, store, action, row, changed, person_id, now)
        _queue_callouts(outbox, store, action, row, now, domain, speed)


def _queue_webhooks(
    outbox: Outbox,
    store: Store,
    action: str,
    row: Row,
    changed: set[str],
    person_id: int,
    now: float,
) -> None:
    flag = {
        "Create": "isSubscribedToCreateEvents",
        "Update": "isSubscribedToUpdateEvents",
        "Delete": "isSubscribedToDeleteEvents",
    }[action]
    for webhook in sorted(store.table("TicketWebhooks").values(), key=lambda w: w["id"]):
        if not (webhook.get("isActive") and webhook.get("isReady") and webhook.get(flag)):
            continue
        if _excluded(store, webhook["id"], person_id):
            continue
        subscribed, always = _webhook_fields(store, webhook["id"])
        if action == "Update":
            hit = changed & subscribed
            if not hit:
                continue
            names = hit | always
        elif action == "Create":
            names = subscribed | always
        else:
            names = set()
        fields = {pascal(n): _wire(row.get(n)) for n in sorted(names)}
        payload = {
            "Action": action,
            "Guid": webhook.get("webhookGUID"),
            "EntityType": "Ticket",
            "Id": row["id"],
            "Fields": fields,
            "EventTime": dates.fmt_now(now),
            "SequenceNumber": _next_sequence(webhook),
            "PersonID": person_id,
        }
        outbox.add(
            "webhook", webhook["id"], _signed(webhook, str(webhook["webhookUrl"]), payload), now
        )


def _queue_callouts(
    outbox: Outbox, store: Store, action: str, row: Row, now: float, domain: str, speed: float
) -> None:
    if action == "Delete":
        return
    for callout in store.callouts:
        if not callout.get("active", True):
            continue
        if action.lower() not in [e.lower() for e in callout.get("events", ["create", "update"])]:
            continue
        udf_name = callout.get("udf_name")
        if udf_name and not (row.get("userDefinedFields") or {}).get(udf_name):
            continue
        request = build_request(callout, callout_fields(store, row, callout, domain))
        outbox.add(
            "callout",
            int(callout["id"]),
            request,
            now,
            max_attempts=1 + CALLOUT_RETRIES,
            interval=CALLOUT_INTERVAL / speed,
        )
