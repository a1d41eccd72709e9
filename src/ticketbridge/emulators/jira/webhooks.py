"""Webhooks out: registration (``/rest/webhooks/1.0/webhook``, admin API), payloads, delivery.

Payloads follow the reference (§1.12): ``timestamp`` (epoch ms), ``webhookEvent``, and for
issue events ``issue_event_type_name``, ``user``, ``issue`` (the v2 REST issue), ``changelog``;
comment events carry ``comment`` (ADF body on Cloud, text on Data Center) and a thin ``issue``.
A comment also raises ``jira:issue_updated`` (``issue_commented``). A webhook with a secret signs
the raw body: ``X-Hub-Signature: sha256=<hex HMAC>``. Delivery retries on 408/409/425/429/5xx
and transport errors with backoff, keeping ``X-Atlassian-Webhook-Identifier`` and counting
``X-Atlassian-Webhook-Retry``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from . import jql
from .errors import JiraError, bad_request, not_found
from .reference import require_admin
from .wire import Reply, Req

if TYPE_CHECKING:
    from .app import Emulator

EVENTS = {
    "jira:issue_created",
    "jira:issue_updated",
    "jira:issue_deleted",
    "comment_created",
    "comment_updated",
    "comment_deleted",
}
RETRY_STATUSES = {408, 409, 425, 429}
MAX_ATTEMPTS = 5
FILTER_KEY = "issue-related-events-section"


@dataclass
class Delivery:
    identifier: str
    webhook_id: str
    url: str
    body: bytes
    secret: str | None
    due: float
    attempts: int = 0


@dataclass
class Outbox:
    client: httpx.AsyncClient | None = None
    pending: list[Delivery] = field(default_factory=list)
    log: list[dict[str, Any]] = field(default_factory=list)

    async def deliver_due(self, now: float, speed: float) -> list[dict[str, Any]]:
        due = [d for d in self.pending if d.due <= now]
        results = []
        for delivery in due:
            headers = {
                "Content-Type": "application/json; charset=utf-8",
                "X-Atlassian-Webhook-Identifier": delivery.identifier,
            }
            if delivery.attempts:
                headers["X-Atlassian-Webhook-Retry"] = str(delivery.attempts)
            if delivery.secret:
                digest = hmac.new(
                    delivery.secret.encode(), delivery.body, hashlib.sha256
                ).hexdigest()
                headers["X-Hub-Signature"] = f"sha256={digest}"
            status: int | None = None
            error = None
            try:
                if self.client is None:
                    async with httpx.AsyncClient(timeout=20) as client:
                        response = await client.post(
                            delivery.url, content=delivery.body, headers=headers
                        )
                else:
                    response = await self.client.post(
                        delivery.url, content=delivery.body, headers=headers
                    )
                status = response.status_code
            except httpx.HTTPError as exc:
                error = type(exc).__name__
            delivery.attempts += 1
            retry = status is None or status in RETRY_STATUSES or status >= 500
            done = not retry or delivery.attempts >= MAX_ATTEMPTS
            self.pending.remove(delivery)
            if not done:
                delivery.due = now + 10 * 2 ** (delivery.attempts - 1) / speed
                self.pending.append(delivery)
            entry = {
                "identifier": delivery.identifier,
                "webhook_id": delivery.webhook_id,
                "url": delivery.url,
                "attempt": delivery.attempts,
                "status": status,
                "error": error,
                "outcome": "delivered"
                if status and 200 <= status < 300
                else ("retry" if not done else "failed"),
                "body": json.loads(delivery.body),
            }
            self.log.append(entry)
            results.append(entry)
        return results


def webhook_json(base: str, hook: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in hook.items() if k != "secret"}
    return {"self": f"{base}/rest/webhooks/1.0/webhook/{hook['id']}", **out}


def register(emu: Emulator, spec: Any) -> dict[str, Any]:
    if not isinstance(spec, dict):
        raise bad_request("A webhook needs a JSON object.")
    url, events = spec.get("url"), spec.get("events")
    problems = {}
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        problems["url"] = "The URL must be an absolute http(s) URL."
    if not isinstance(events, list) or not events or not set(events) <= EVENTS:
        problems["events"] = f"Events must be a non-empty list of: {', '.join(sorted(EVENTS))}."
    filters = spec.get("filters") or {}
    if not isinstance(filters, dict):
        problems["filters"] = "filters must be an object"
    elif filters.get(FILTER_KEY):
        try:
            jql.parse(
                str(filters[FILTER_KEY]), now=emu.now_ts(), text_of=lambda i, n: "", indexed=set()
            )
        except JiraError as exc:
            problems["filters"] = "; ".join(exc.body["errorMessages"])
    if problems:
        raise JiraError(400, [], problems)
    data = emu.store.data
    hook = {
        "id": str(data["next_webhook"]),
        "name": str(spec.get("name") or "webhook"),
        "url": url,
        "events": [str(e) for e in events or []],
        "filters": {FILTER_KEY: str(filters.get(FILTER_KEY) or "")},
        "excludeBody": bool(spec.get("excludeBody", False)),
        "enabled": bool(spec.get("enabled", True)),
        "secret": spec.get("secret") or None,
    }
    data["next_webhook"] += 1
    data["webhooks"][hook["id"]] = hook
    return hook


def rest_register(emu: Emulator, req: Req) -> Reply:
    require_admin(req)
    hook = register(emu, req.json())
    return Reply(201, webhook_json(req.view.base, hook))


def rest_list(emu: Emulator, req: Req) -> Reply:
    require_admin(req)
    return Reply(body=[webhook_json(req.view.base, h) for h in emu.store.data["webhooks"].values()])


def rest_get(emu: Emulator, req: Req) -> Reply:
    require_admin(req)
    hook = emu.store.data["webhooks"].get(req.params["id"])
    if hook is None:
        raise not_found("Webhook not found.")
    return Reply(body=webhook_json(req.view.base, hook))


def rest_delete(emu: Emulator, req: Req) -> Reply:
    require_admin(req)
    if emu.store.data["webhooks"].pop(req.params["id"], None) is None:
        raise not_found("Webhook not found.")
    return Reply(204)


def enqueue(emu: Emulator, event: str, issue: dict[str, Any], payload: dict[str, Any]) -> None:
    for hook in emu.store.data["webhooks"].values():
        if not hook["enabled"] or event not in hook["events"]:
            continue
        condition = hook["filters"].get(FILTER_KEY)
        if condition:
            query = jql.parse(
                condition, now=emu.now_ts(), text_of=lambda i, n: "", indexed=emu.indexed_properties
            )
            if query.where is not None and not query.where(issue):
                continue
        body = (
            {"timestamp": payload["timestamp"], "webhookEvent": event}
            if hook["excludeBody"]
            else payload
        )
        body = {**body, "matchedWebhookIds": [int(hook["id"])]}
        emu.outbox.pending.append(
            Delivery(
                identifier=str(uuid.UUID(int=emu.rng.getrandbits(128))),
                webhook_id=hook["id"],
                url=hook["url"],
                body=json.dumps(body).encode(),
                secret=hook["secret"],
                due=emu.now_ts(),
            )
        )
