"""Stored duplicate detections (issue 9 item 2): reading them, and recording what a search for
runs' references found. No Autotask requests here: :mod:`ticket_duplicates` asks, this module
writes down, each detection audited once (``ticket.duplicates_found``) while it stays unchanged.

A detection is open while ``open_run_id`` is set (one per run, by a unique constraint). It ends
when the operator chooses the ticket to keep (``resolution`` kept) or when fewer than two
tickets carry the reference any more (``gone``). Tickets an earlier choice gave the note are
settled: finding them again with the kept ticket is not a new duplicate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ticketbridge.connectors.psa.base import RemoteTicket
from ticketbridge.core import ticket_duplicates as rules
from ticketbridge.core.ticket_duplicates import FoundTicket
from ticketbridge.core.ticket_links import LinkState
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.tickets import store
from ticketbridge.storage.models import TicketDuplicateCheck, TicketDuplicateRow, TicketLinkRow

FOUND = "duplicates_found"
RESOLVED = "duplicates_resolved"


@dataclass(frozen=True)
class Target:
    """A run's current link whose reference is searched."""

    run_id: int
    link_id: int
    reference: str


@dataclass(frozen=True)
class DuplicatesView:
    """A run's duplicates as the run page and the API show them."""

    run_id: int
    open: TicketDuplicateRow | None
    tickets: tuple[FoundTicket, ...]
    linked_ticket_id: int | None
    suggested_ticket_id: int | None
    history: list[TicketDuplicateRow]


# --- reading -------------------------------------------------------------------------------------


def tickets_of(row: TicketDuplicateRow) -> tuple[FoundTicket, ...]:
    return rules.distinct(FoundTicket.of(item) for item in row.tickets)


def open_for_run(session: Session, run_id: int) -> TicketDuplicateRow | None:
    return session.scalar(
        select(TicketDuplicateRow).where(TicketDuplicateRow.open_run_id == run_id)
    )


def open_runs(session: Session, run_ids: Sequence[int]) -> set[int]:
    """Which of these runs have duplicate tickets waiting for a choice (one query)."""
    if not run_ids:
        return set()
    found = session.scalars(
        select(TicketDuplicateRow.open_run_id).where(
            TicketDuplicateRow.open_run_id.in_(list(run_ids))
        )
    )
    return {int(run_id) for run_id in found if run_id is not None}


def history(session: Session, run_id: int) -> list[TicketDuplicateRow]:
    """Every detection of the run, newest first."""
    return list(
        session.scalars(
            select(TicketDuplicateRow)
            .where(TicketDuplicateRow.run_id == run_id)
            .order_by(TicketDuplicateRow.id.desc())
        )
    )


def view(session: Session, run_id: int) -> DuplicatesView:
    rows = history(session, run_id)
    current = next((row for row in rows if row.open_run_id is not None), None)
    link = store.current(session, run_id)
    linked = int(link.ticket_id) if link is not None and link.ticket_id is not None else None
    tickets = tickets_of(current) if current is not None else ()
    suggested = rules.suggested_keeper(tickets, linked).id if tickets else None
    return DuplicatesView(run_id, current, tickets, linked, suggested, rows)


def settled_ids(rows: Sequence[TicketDuplicateRow]) -> set[int]:
    """Tickets an operator's earlier choice already gave the note: not duplicates again."""
    return {
        int(ticket_id)
        for row in rows
        if row.resolution == "kept"
        for ticket_id in row.noted_ticket_ids or []
    }


# --- recording -----------------------------------------------------------------------------------


def record_found(
    session: Session,
    run_id: int,
    link_id: int,
    tickets: Sequence[RemoteTicket],
    now: datetime,
    *,
    actor: str = "system",
) -> str:
    """Record the tickets a search found for the reference of link ``link_id`` (the run's
    link, already given its ticket) in the caller's transaction; does not commit. Returns
    ``found``, ``changed``, ``unchanged``, ``cleared`` or ``none`` (no duplicates)."""
    link = store.get(session, link_id)
    if link is None or not link.reference:
        return "none"
    rows = history(session, run_id)
    found = [FoundTicket(t.id, t.number) for t in tickets]
    return _record(session, run_id, link, found, rows, now, actor)


def _record(
    session: Session,
    run_id: int,
    link: TicketLinkRow,
    found: Sequence[FoundTicket],
    rows: Sequence[TicketDuplicateRow],
    now: datetime,
    actor: str,
) -> str:
    tickets = rules.distinct(found)
    linked = int(link.ticket_id) if link.ticket_id is not None else None
    current = next((row for row in rows if row.open_run_id is not None), None)
    listing = [t.as_dict() for t in tickets]
    details = {
        "reference": link.reference,
        "tickets": listing,
        "numbers": [t.number for t in tickets],
        "linked_ticket_id": linked,
    }
    if not rules.is_duplicate(tickets, linked, settled_ids(rows)):
        if current is None:
            return "none"
        # Deleted or changed in Autotask meanwhile: nothing is left to choose.
        current.open_run_id = None
        current.resolved_at, current.resolved_by, current.resolution = now, actor, "gone"
        current.last_seen_at = now
        store.audit_action(
            session, actor=actor, action=RESOLVED, run_id=run_id, outcome="gone",
            details={**details, "detection_id": current.id, "previous": current.tickets},
        )  # fmt: skip
        return "cleared"
    details["suggested_ticket_id"] = rules.suggested_keeper(tickets, linked).id
    if current is None:
        session.add(
            TicketDuplicateRow(
                run_id=run_id, open_run_id=run_id, link_id=link.id, reference=link.reference,
                tickets=listing, found_at=now, last_seen_at=now,
            )
        )  # fmt: skip
        store.audit_action(
            session, actor=actor, action=FOUND, run_id=run_id, outcome="found", details=details
        )
        return "found"
    current.last_seen_at = now
    if rules.same_tickets(tickets, tickets_of(current)):
        return "unchanged"
    previous = current.tickets
    current.tickets, current.link_id = listing, link.id
    store.audit_action(
        session, actor=actor, action=FOUND, run_id=run_id, outcome="changed",
        details={**details, "detection_id": current.id, "previous": previous},
    )  # fmt: skip
    return "changed"


def record(
    runtime: Runtime,
    targets: Sequence[Target],
    found: Mapping[str, Sequence[FoundTicket]],
    *,
    actor: str = "system",
    checked: bool = False,
) -> dict[int, str]:
    """Record what a search found for ``targets``, in one transaction; the outcome per run.
    A run whose link changed since it was read is skipped (the next check reads it again).
    ``checked``: also note the time for the run page's throttle."""
    for _attempt in range(2):
        with runtime.session_factory() as session:
            now = runtime.clock()
            run_ids = [t.run_id for t in targets]
            links = store.current_for_runs(session, run_ids)
            rows = _rows_by_run(session, run_ids)
            outcomes: dict[int, str] = {}
            for target in targets:
                link = links.get(target.run_id)
                if link is None or not searchable(link) or link.reference != target.reference:
                    continue
                outcomes[target.run_id] = _record(
                    session, target.run_id, link, found.get(target.reference, ()),
                    rows.get(target.run_id, []), now, actor,
                )  # fmt: skip
                if checked:
                    _mark_checked(session, link.id, now)
            try:
                session.commit()
            except IntegrityError:
                # Another sweep or page recorded one of these runs first: read again.
                session.rollback()
                continue
            return outcomes
    return {}


def _rows_by_run(session: Session, run_ids: Sequence[int]) -> dict[int, list[TicketDuplicateRow]]:
    grouped: dict[int, list[TicketDuplicateRow]] = {}
    if not run_ids:
        return grouped
    for row in session.scalars(
        select(TicketDuplicateRow)
        .where(TicketDuplicateRow.run_id.in_(list(run_ids)))
        .order_by(TicketDuplicateRow.id)
    ):
        grouped.setdefault(row.run_id, []).append(row)
    return grouped


def _mark_checked(session: Session, link_id: int, now: datetime) -> None:
    check = session.get(TicketDuplicateCheck, link_id)
    if check is None:
        session.add(TicketDuplicateCheck(link_id=link_id, checked_at=now))
    else:
        check.checked_at = now


def searchable(link: TicketLinkRow) -> bool:
    """A link whose ticket carries the run's reference and is settled (not being created)."""
    return (
        bool(link.reference)
        and link.ticket_id is not None
        and link.state not in (LinkState.CREATING.value, LinkState.SUPERSEDED.value)
    )


def found_tickets(tickets: Mapping[str, Sequence[RemoteTicket]]) -> dict[str, list[FoundTicket]]:
    return {ref: [FoundTicket(t.id, t.number) for t in found] for ref, found in tickets.items()}
