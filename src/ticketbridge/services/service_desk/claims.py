"""Claiming a desk row (``service_desk_mails``): one mail or API request is handled by one
worker at a time, whichever inserts its row or moves it on first; and the mark the ticket it
opens carries, by which a retried create finds the ticket a lost answer made."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ticketbridge.storage.models import ServiceDeskMail


def claim_row(
    session: Session,
    row: ServiceDeskMail | None,
    fresh: ServiceDeskMail,
    *,
    outcome: str,
    now: datetime,
    **values: object,
) -> int | None:
    """A desk row for this caller alone: ``fresh`` inserted when there was no ``row`` (None when
    a concurrent insert won), else ``row`` moved to ``outcome`` by an update conditional on the
    outcome and attempts it was read with (None when another caller moved it first)."""
    if row is None:
        try:
            with session.begin_nested():
                session.add(fresh)
                session.flush()
        except IntegrityError:
            return None
        return fresh.id
    result = session.execute(
        update(ServiceDeskMail)
        .where(
            ServiceDeskMail.id == row.id,
            ServiceDeskMail.outcome == row.outcome,
            ServiceDeskMail.attempts == row.attempts,
        )
        .values(outcome=outcome, processed_at=now, attempts=row.attempts + 1, **values)
        .execution_options(synchronize_session=False)
    )
    return row.id if int(getattr(result, "rowcount", 0) or 0) == 1 else None


def external_id(mailbox_id: int, key: str) -> str:
    """Our mark on the ticket a mail opened: short enough for every PSA's external id."""
    return "desk-" + hashlib.sha256(f"{mailbox_id}:{key}".encode()).hexdigest()[:40]
