"""The audit trail: who did what to which thing, and how it ended."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ticketbridge.services.system import log_context
from ticketbridge.storage.models import AuditEvent

SECRET_KEYS = ("secret", "password", "token", "api_key")


def _redact(details: dict[str, Any]) -> dict[str, Any]:
    """Audit details never keep a secret, whatever a caller passes in."""
    clean: dict[str, Any] = {}
    for key, value in details.items():
        if any(marker in key.lower() for marker in SECRET_KEYS) and value not in (None, ""):
            clean[key] = "[redacted]"
        elif isinstance(value, dict):
            clean[key] = _redact(value)
        else:
            clean[key] = value
    return clean


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    subject: str = "",
    outcome: str = "ok",
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    event = AuditEvent(
        actor=actor,
        action=action,
        subject=subject,
        outcome=outcome,
        details=_redact(details or {}),
        request_id=log_context.request_id(),
    )
    session.add(event)
    return event


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None
    action: str | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    request_id: str | None = None


def search(
    session: Session, filters: AuditFilter, *, page: int = 1, per_page: int = 50
) -> tuple[list[AuditEvent], int]:
    query = select(AuditEvent)
    if filters.actor:
        query = query.where(AuditEvent.actor == filters.actor)
    if filters.action:
        query = query.where(AuditEvent.action.startswith(filters.action))
    if filters.outcome:
        query = query.where(AuditEvent.outcome == filters.outcome)
    if filters.request_id:
        query = query.where(AuditEvent.request_id == filters.request_id)
    if filters.since:
        query = query.where(AuditEvent.occurred_at >= filters.since)
    if filters.until:
        query = query.where(AuditEvent.occurred_at < filters.until)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(AuditEvent.id.desc()).offset((page - 1) * per_page).limit(per_page)
    ).all()
    return list(rows), total
