"""Every request to /hooks, kept as it arrived (habit 5: store first, then parse).

A request is added to the session before it is authenticated or read, so whatever happens next
(a wrong password, a body we cannot read, a bug) it is still there to look at and to replay.
Headers are kept minus the credentials (Authorization, Cookie); the webhook signature is not a
secret and is kept. Nothing here commits.

The metric ``ticketbridge_hooks_received_total`` counts each request once, by its final
outcome: the callers call :func:`counted` after the transaction that stored the request
committed, so a batch whose commit fails and is stored again as ``failed`` counts as
``failed`` only, and a request that could not be stored at all (answered 503) as
``not_stored``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ticketbridge.connectors import metrics
from ticketbridge.storage.models import HookRequest

CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
MAX_HEADERS = 50
MAX_HEADER_LENGTH = 1000
MAX_QUERY_LENGTH = 8000
RETENTION_DAYS = 30
# The two-way sync's change webhooks (services/sync/hooks.py): the endpoint is the connection id.
SYNC = "sync"
CHANNELS = ("callout", "webhook", "deactivation", SYNC)  # the ones that replay
OUTCOMES = (
    "received",
    "applied",
    "requested",
    "duplicate",
    "stale",
    "held",
    "recorded",
    "ignored",
    "unknown_ticket",
    "filtered",
    "rejected",
    "unreadable",
    "unsupported",
    "failed",
)
NOT_STORED = "not_stored"  # the metric's outcome of a request answered 503: nothing was stored


def kept_headers(headers: Mapping[str, str] | Any) -> dict[str, str]:
    kept: dict[str, str] = {}
    for name, value in list(headers.items())[: MAX_HEADERS * 2]:
        key = str(name).lower()
        if key in CREDENTIAL_HEADERS:
            kept[key] = "[not stored]"
        elif len(kept) < MAX_HEADERS:
            kept[key] = str(value)[:MAX_HEADER_LENGTH]
    return kept


def new_row(
    *,
    channel: str,
    endpoint: str,
    method: str,
    query: str,
    headers: Mapping[str, str] | Any,
    body: bytes,
    now: datetime,
) -> HookRequest:
    """The row of a request as received, not yet added to a session."""
    return HookRequest(
        channel=channel,
        endpoint=endpoint[:50],
        method=method.upper()[:10],
        query=query[:MAX_QUERY_LENGTH],
        headers=kept_headers(headers),
        body=body,
        received_at=now,
        outcome="received",
    )


def store(session: Session, **request: Any) -> HookRequest:
    """Add the request to the session and write it (the row's id is known after)."""
    row = new_row(**request)
    session.add(row)
    session.flush()
    return row


def finish(
    row: HookRequest,
    outcome: str,
    *,
    error: str | None = None,
    ticket_id: int | None = None,
    parsed: dict[str, Any] | None = None,
) -> None:
    row.outcome = outcome
    row.error = error[:500] if error else None
    if ticket_id is not None:
        row.ticket_id = ticket_id
    if parsed is not None:
        row.parsed = parsed


def counted(channel: str, outcome: str, times: int = 1) -> None:
    """Count ``times`` requests of ``channel`` that ended as ``outcome``: once their rows are
    committed (or, with :data:`NOT_STORED`, once storing them failed for good)."""
    metrics.HOOKS_RECEIVED.labels(channel, outcome).inc(times)


def get(session: Session, request_id: int) -> HookRequest | None:
    return session.get(HookRequest, request_id)


def listing(
    session: Session,
    *,
    channel: str | None = None,
    outcome: str | None = None,
    ticket_id: int | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[HookRequest]:
    """Newest first; ``before_id`` pages back."""
    query = select(HookRequest).order_by(HookRequest.id.desc()).limit(limit)
    if channel:
        query = query.where(HookRequest.channel == channel)
    if outcome:
        query = query.where(HookRequest.outcome == outcome)
    if ticket_id is not None:
        query = query.where(HookRequest.ticket_id == ticket_id)
    if before_id is not None:
        query = query.where(HookRequest.id < before_id)
    return list(session.scalars(query))


def purge(session: Session, *, now: datetime, days: int = RETENTION_DAYS) -> int:
    result = session.execute(
        delete(HookRequest).where(HookRequest.received_at < now - timedelta(days=days))
    )
    return int(getattr(result, "rowcount", 0) or 0)
