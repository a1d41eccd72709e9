"""Stored ticket links: reading them, converting to and from the core state machine, and the
two writes that hold the one-ticket-per-run line (reserve and supersede). Query helpers; they
never commit.

The errors every ticket action raises live here too, each with the HTTP status the web layer
answers with, so a connector failure or a refused action is never a 500, and the result every
action returns when it succeeds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ticketbridge.connectors import metrics
from ticketbridge.core.create_progress import CreatePhase, CreateProgress
from ticketbridge.core.ticket_links import LinkOrigin, LinkState, TicketLink
from ticketbridge.services.system import audit
from ticketbridge.storage.models import PsaConnection, TicketLinkRow


class TicketError(Exception):
    """A ticket action that did not happen; the message is safe to show an operator."""

    status = 409

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class TicketActionRefused(TicketError):
    """The run's link, the integration mode or a setting does not allow this action."""


class TicketBeingCreated(TicketActionRefused):
    """Another click or worker holds the run's reservation."""


class TicketInputInvalid(TicketError):
    status = 422


class TicketCreationBlocked(TicketError):
    """Creation refused before anything was sent (mapping, base URL, defaults)."""

    status = 422


class PsaUnavailable(TicketError):
    """Autotask could not answer now; trying again later may work."""

    status = 503


class PsaFailed(TicketError):
    """Autotask refused the request or our integration settings are wrong."""

    status = 502


@dataclass(frozen=True)
class LinkResult:
    link: TicketLinkRow
    message: str


# --- conversion --------------------------------------------------------------------------------


def to_link(row: TicketLinkRow) -> TicketLink:
    return TicketLink(
        run_id=row.run_id,
        state=LinkState(row.state),
        origin=LinkOrigin(row.origin),
        created_by=row.created_by,
        created_at=row.created_at,
        ticket_id=int(row.ticket_id) if row.ticket_id is not None else None,
        ticket_number=row.ticket_number,
        ticket_url=row.ticket_url,
        last_status_id=row.last_status_id,
        last_status_at=row.last_status_at,
        missing_since=row.missing_since,
        deleted_at=row.deleted_at,
        superseded_at=row.superseded_at,
        time_entries=row.time_entries,
        last_activity_at=row.last_activity_at,
        resolved_in_psa_by=row.resolved_in_psa_by,
        resolved_in_psa_at=row.resolved_in_psa_at,
    )


def apply(row: TicketLinkRow, link: TicketLink) -> None:
    """Write a core link's state back onto its row."""
    row.state = link.state.value
    row.origin = link.origin.value
    row.ticket_id = link.ticket_id
    row.ticket_number = link.ticket_number
    row.ticket_url = link.ticket_url
    row.last_status_id = link.last_status_id
    row.last_status_at = link.last_status_at
    row.missing_since = link.missing_since
    row.deleted_at = link.deleted_at
    row.superseded_at = link.superseded_at
    row.time_entries = link.time_entries
    row.last_activity_at = link.last_activity_at
    row.resolved_in_psa_by = link.resolved_in_psa_by
    row.resolved_in_psa_at = link.resolved_in_psa_at
    row.current_run_id = None if link.state is LinkState.SUPERSEDED else link.run_id


def new_row(link: TicketLink, connection: PsaConnection, **extra: Any) -> TicketLinkRow:
    """A link row for ``link``, of a ticket that lives in ``connection``."""
    row = TicketLinkRow(
        run_id=link.run_id,
        connection_id=connection.id,
        kind=connection.kind,
        created_by=link.created_by,
        created_at=link.created_at,
    )
    apply(row, link)
    for key, value in extra.items():
        setattr(row, key, value)
    return row


# --- reading -----------------------------------------------------------------------------------


def current(session: Session, run_id: int) -> TicketLinkRow | None:
    return session.scalar(select(TicketLinkRow).where(TicketLinkRow.current_run_id == run_id))


def current_for_runs(session: Session, run_ids: Sequence[int]) -> dict[int, TicketLinkRow]:
    if not run_ids:
        return {}
    rows = session.scalars(
        select(TicketLinkRow).where(TicketLinkRow.current_run_id.in_(list(run_ids)))
    )
    return {row.run_id: row for row in rows}


def history(session: Session, run_id: int) -> list[TicketLinkRow]:
    """Every link the run ever had, newest first (the current one included)."""
    return list(
        session.scalars(
            select(TicketLinkRow)
            .where(TicketLinkRow.run_id == run_id)
            .order_by(TicketLinkRow.id.desc())
        )
    )


def get(session: Session, link_id: int) -> TicketLinkRow | None:
    return session.get(TicketLinkRow, link_id)


# --- the two guarded writes --------------------------------------------------------------------


def insert_current(session: Session, row: TicketLinkRow) -> bool:
    """Insert ``row`` as the run's current link; False when another current link exists (the
    unique constraint said so). Commits on success, rolls back otherwise: the reservation must
    be visible to other workers before anything is sent to Autotask."""
    session.add(row)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return False
    return True


def release(session: Session, row: TicketLinkRow, now: datetime) -> bool:
    """Mark ``row`` superseded, if it is still its run's current link (another worker may have
    replaced it meanwhile). Does not commit."""
    result = session.execute(
        update(TicketLinkRow)
        .where(TicketLinkRow.id == row.id, TicketLinkRow.current_run_id.is_not(None))
        .values(current_run_id=None, state=LinkState.SUPERSEDED.value, superseded_at=now)
        .execution_options(synchronize_session=False)
    )
    session.expire(row)
    return bool(getattr(result, "rowcount", 0))


def replace(session: Session, old: TicketLinkRow | None, new: TicketLinkRow, now: datetime) -> bool:
    """Supersede ``old`` (kept as history) and make ``new`` current, in one transaction; False
    when someone else changed the run's link first. Commits on success."""
    if old is not None:
        if not release(session, old, now):
            session.rollback()
            return False
        session.flush()
    session.add(new)
    try:
        session.flush()
        if old is not None:
            session.execute(
                update(TicketLinkRow)
                .where(TicketLinkRow.id == old.id)
                .values(superseded_by_id=new.id)
                .execution_options(synchronize_session=False)
            )
        session.commit()
    except IntegrityError:
        session.rollback()
        return False
    return True


def progress(row: TicketLinkRow) -> CreateProgress:
    """Where a reservation's create stands (rows written before phases existed read as sent)."""
    phase = CreatePhase(row.create_phase) if row.create_phase else CreatePhase.SENDING
    return CreateProgress(phase, row.create_attempts, row.attempted_at or row.created_at)


def claim_send(session: Session, row: TicketLinkRow, now: datetime, reference: str) -> bool:
    """Take the right to send the reservation's next create: only one click, worker or job gets
    it, because the update only matches the phase and attempt count that were read. Records
    the reference the create carries. Commits."""
    result = session.execute(
        update(TicketLinkRow)
        .where(
            TicketLinkRow.id == row.id,
            TicketLinkRow.state == LinkState.CREATING.value,
            TicketLinkRow.create_attempts == row.create_attempts,
            TicketLinkRow.create_phase.is_(None)
            if row.create_phase is None
            else TicketLinkRow.create_phase == row.create_phase,
        )
        .values(
            create_phase=CreatePhase.SENDING.value,
            create_attempts=row.create_attempts + 1,
            attempted_at=now,
            reference=reference,
        )
        .execution_options(synchronize_session=False)
    )
    session.commit()
    session.expire(row)
    return bool(getattr(result, "rowcount", 0))


# --- the audit trail ---------------------------------------------------------------------------


def audit_action(
    session: Session,
    *,
    actor: str,
    action: str,
    run_id: int,
    outcome: str = "ok",
    details: dict[str, Any] | None = None,
) -> None:
    """One event per ticket action: ``ticket.<action>`` on ``run <id>``, naming the connection
    of the run's ticket when it has one. Does not commit. Counted in the metrics here, where
    every action's outcome passes."""
    metrics.TICKET_ACTIONS.labels(action, outcome).inc()
    details = dict(details or {})
    if "connection_id" not in details:
        found = session.execute(
            select(TicketLinkRow.connection_id, TicketLinkRow.kind).where(
                TicketLinkRow.current_run_id == run_id
            )
        ).first()
        if found is not None:
            details |= {"connection_id": found.connection_id, "kind": found.kind}
    audit.record(
        session,
        actor=actor,
        action=f"ticket.{action}",
        subject=f"run {run_id}",
        outcome=outcome,
        details=details,
    )


def describe(row: TicketLinkRow | None) -> dict[str, Any]:
    """A link's identity for audit details, with its connection (so that audit_action need
    not look it up: the round trip audits a batch's changes by the hundred)."""
    if row is None:
        return {}
    return {
        "connection_id": row.connection_id,
        "kind": row.kind,
        "link_id": row.id,
        "state": row.state,
        "origin": row.origin,
        "ticket_id": row.ticket_id,
        "ticket_number": row.ticket_number,
    }
