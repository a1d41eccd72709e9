"""Jira Cloud webhooks (an admin's System > WebHooks, with a secret): checked and read so a
change starts the syncs using the connection early (capability ``sync_hooks``).

Jira signs the exact body with HMAC-SHA256 under the webhook's secret and sends
``X-Hub-Signature: sha256=<hex>`` (the WebSub form). The body is JSON with ``webhookEvent``:
``jira:issue_created``, ``jira:issue_updated``, ``jira:issue_deleted``, ``comment_created``,
``comment_updated``, ``comment_deleted``, ``attachment_created``, ``attachment_deleted``; issue
and comment events carry ``issue`` (``id``, ``key``, ``fields``). Other events (projects,
users, sprints, ...) change no ticket.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from ticketbridge.connectors.psa.capabilities import HookChange

signature_header = "x-hub-signature"
_PREFIX = "sha256="
# Event families that change a ticket, its comments or its files.
_TICKET_EVENTS = ("jira:issue_", "comment_", "attachment_")


def signature_valid(secret: str, body: bytes, signature: str | None) -> bool:
    if not signature or not signature.startswith(_PREFIX):
        return False
    expected = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature[len(_PREFIX) :].strip().lower())


def parse(body: bytes) -> HookChange | None:
    try:
        data: Any = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ValueError("the body is not JSON") from None
    event = data.get("webhookEvent") if isinstance(data, dict) else None
    if not isinstance(event, str) or not event:
        raise ValueError("the body is no Jira webhook: it has no webhookEvent")
    if not event.startswith(_TICKET_EVENTS):
        return None
    issue = data.get("issue")
    found = issue.get("id") if isinstance(issue, dict) else None
    ticket = str(found) if isinstance(found, (str, int)) and str(found).isdigit() else None
    return HookChange(event=event[:100], ticket_id=ticket)
