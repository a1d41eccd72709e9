"""Autotask ticket webhooks: the signature check and the payload (pure, no I/O).

Autotask signs each delivery with ``X-Hook-Signature: sha1=<base64(HMAC-SHA1(secret key,
body))>`` (Autotask REST API docs, "Secret key and payload verification"). The HMAC is taken
over the **exact bytes received**: Autotask escapes ``& < > ' " ` +`` and every non-ASCII
character as ``\\uXXXX``, so a body parsed and written out again would not match (n8n's
Autotask node had to rebuild that escaping; read 2026-03). We never re-serialise.

Payload (PascalCase keys)::

    {"Action":"Update","Guid":"…","EntityType":"Ticket","Id":7004,
     "Fields":{"Status":"5","LastActivityDate":"2026-03-02T15:30:00.000Z"},
     "EventTime":"2026-03-02T15:30:00Z","SequenceNumber":2,"PersonID":29}

``Fields`` values are strings (or null). Webhook times are UTC, unlike callouts.
``Action`` is Create, Update, Delete, or Deactivated (sent to the deactivation URL after
Autotask switched the webhook off).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ticketbridge.core.callouts import CalloutUnreadable, parse_time

SIGNATURE_PREFIX = "sha1="
MAX_JSON_BYTES = 256 * 1024
MAX_JSON_DEPTH = 16
ACTIONS = frozenset({"create", "update", "delete", "deactivated"})


def expected_signature(secret: str, body: bytes) -> str:
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha1).digest()
    return SIGNATURE_PREFIX + base64.b64encode(digest).decode("ascii")


def signature_valid(secret: str, body: bytes, header: str | None) -> bool:
    """Whether ``header`` is the signature of ``body`` under ``secret``, compared in constant
    time. The ``sha1=`` prefix is matched without regard to case."""
    if not header or not secret:
        return False
    sent = header.strip()
    if sent[: len(SIGNATURE_PREFIX)].lower() != SIGNATURE_PREFIX:
        return False
    expected = expected_signature(secret, body)[len(SIGNATURE_PREFIX) :].encode("ascii")
    return hmac.compare_digest(sent[len(SIGNATURE_PREFIX) :].encode("utf-8", "replace"), expected)


@dataclass(frozen=True)
class WebhookEvent:
    action: str  # lower-case: create | update | delete | deactivated
    guid: str | None
    entity_type: str | None
    entity_id: int | None
    # Field names lower-cased, values as sent (strings or None).
    fields: dict[str, str | None] = field(default_factory=dict)
    event_time: datetime | None = None
    sequence: int | None = None
    person_id: int | None = None

    @property
    def status_id(self) -> int | None:
        return _int(self.fields.get("status"))

    @property
    def last_activity(self) -> datetime | None:
        return parse_utc(self.fields.get("lastactivitydate"))

    @property
    def is_ticket(self) -> bool:
        return (self.entity_type or "ticket").lower() == "ticket"


def _depth_ok(value: Any, limit: int) -> bool:
    """Iterative, so that a deep value cannot exhaust the stack while being checked."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return False
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return True


def parse_event(body: bytes) -> WebhookEvent:
    """Raises CalloutUnreadable for a body that is not a webhook payload."""
    if len(body) > MAX_JSON_BYTES:
        raise CalloutUnreadable(f"the payload is over {MAX_JSON_BYTES} bytes")
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise CalloutUnreadable("the payload is not JSON") from None
    if not isinstance(data, dict) or not _depth_ok(data, MAX_JSON_DEPTH):
        raise CalloutUnreadable("the payload is not a webhook object")
    keys = {str(k).lower(): v for k, v in data.items()}
    action = str(keys.get("action") or "").lower()
    if action not in ACTIONS:
        raise CalloutUnreadable(f"unknown webhook action {str(keys.get('action'))[:30]!r}")
    raw_fields = keys.get("fields") or {}
    if not isinstance(raw_fields, dict):
        raise CalloutUnreadable("Fields is not an object")
    fields = {
        str(k).lower(): (None if v is None else str(v)[:2000])
        for k, v in list(raw_fields.items())[:200]
    }
    guid = keys.get("guid")
    entity = keys.get("entitytype")
    return WebhookEvent(
        action=action,
        guid=str(guid) if guid else None,
        entity_type=str(entity) if entity else None,
        entity_id=_int(keys.get("id")),
        fields=fields,
        event_time=parse_utc(keys.get("eventtime")),
        sequence=_int(keys.get("sequencenumber")),
        person_id=_int(keys.get("personid")),
    )


def parse_utc(value: Any) -> datetime | None:
    """A webhook time: ISO 8601, UTC when it carries no offset. None when absent or unreadable
    (a field we cannot read is not worth refusing the whole event for)."""
    if not isinstance(value, str):
        return None
    try:
        return parse_time(value, naive_zone=UTC)
    except CalloutUnreadable:
        return None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        text = value.strip()
        return int(text) if len(text) <= 18 else None
    return None
