"""Duplicate tickets in Autotask (issue 9 item 2): the back-stop behind exactly-once creation.

Every ticket we create for a run carries the run's reference as externalID, so a search by
reference finds every ticket made for the run, including one created behind our back. Two or
more found for one run are recorded (:mod:`ticket_duplicate_store`), audited once with their
numbers (``ticket.duplicates_found``) and shown on the run and in Run Checks until the operator
chooses which ticket stays linked (:mod:`.duplicate_choice`).

Found by:
- :func:`sweep`, the periodic job: every current link with a reference created within
  :data:`~ticketbridge.core.ticket_duplicates.SWEEP_WINDOW` (30 days), one
  ``externalID in [...]`` query per 500 links;
- :func:`check_run`, when a run page is shown: one quick query for the run's reference, at most
  every five minutes per link;
- :func:`record_found`, called by the create when its search for the reference found several.

The operator's choice among them is :mod:`.duplicate_choice`: the run's link points at the kept
ticket (a new link superseding the old one, as Re-link does), the others get an internal note.

No database connection is held while Autotask answers: what is needed is read, the session
closed, Autotask asked, and the outcome recorded in a new short transaction. Nothing is sent
while the integration is disabled. Pure rules: :mod:`ticketbridge.core.ticket_duplicates`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from ticketbridge.connectors.errors import ConnectorError
from ticketbridge.connectors.psa.base import RemoteTicket
from ticketbridge.core import ticket_duplicates as rules
from ticketbridge.core.psa_governor import Priority
from ticketbridge.core.ticket_links import LinkState
from ticketbridge.services.connections import named
from ticketbridge.services.connections.active import ActiveConnection
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.tickets import store
from ticketbridge.services.tickets.duplicate_store import (
    DuplicatesView,
    Target,
    found_tickets,
    open_runs,
    record,
    record_found,
    searchable,
    tickets_of,
    view,
)
from ticketbridge.services.tickets.psa import (
    connect,
    current_settings,
    translate,
)
from ticketbridge.services.tickets.store import (
    TicketError,
)
from ticketbridge.storage.models import TicketDuplicateCheck, TicketLinkRow

__all__ = [
    "DuplicatesView",
    "SweepSummary",
    "check_run",
    "open_runs",
    "record_found",
    "sweep",
    "tickets_of",
    "view",
]

log = logging.getLogger(__name__)
# Links read, and references searched, per page of the sweep (one Autotask query per page).
SWEEP_PAGE = 500


@dataclass
class SweepSummary:
    searched: int = 0
    found: list[int] = field(default_factory=list)  # run ids with new duplicates
    changed: list[int] = field(default_factory=list)  # run ids whose duplicates changed
    cleared: list[int] = field(default_factory=list)  # run ids whose duplicates went away


@contextmanager
def connected(
    runtime: Runtime,
    connection_id: int | None,
    *,
    quick: bool = False,
    priority: Priority = Priority.OPERATOR,
) -> Iterator[ActiveConnection | None]:
    """A ready connector, or None while the integration is disabled. The session that read the
    settings is closed before the caller talks to Autotask. Searching is background work for
    the request governor; applying an operator's choice is not."""
    with runtime.session_factory() as session:
        if not current_settings(session, connection_id).enabled:
            yield None
            return
        with connect(runtime, session, connection_id, quick=quick, priority=priority) as autotask:
            session.close()
            yield autotask


def search(autotask: ActiveConnection, references: list[str]) -> dict[str, list[RemoteTicket]]:
    return autotask.connector.find_tickets_by_references(references)


# --- the periodic sweep and the run page ---------------------------------------------------------


def _targets(runtime: Runtime, connection_id: int, since: datetime, after_id: int) -> list[Target]:
    with runtime.session_factory() as session:
        rows = session.execute(
            select(TicketLinkRow.run_id, TicketLinkRow.id, TicketLinkRow.reference)
            .where(
                TicketLinkRow.connection_id == connection_id,
                TicketLinkRow.current_run_id.is_not(None),
                TicketLinkRow.reference.is_not(None),
                TicketLinkRow.ticket_id.is_not(None),
                TicketLinkRow.state != LinkState.CREATING.value,
                TicketLinkRow.created_at >= since,
                TicketLinkRow.id > after_id,
            )
            .order_by(TicketLinkRow.id)
            .limit(SWEEP_PAGE)
        )
        return [Target(int(run_id), int(link_id), str(ref)) for run_id, link_id, ref in rows]


def sweep(runtime: Runtime, *, actor: str = "system") -> SweepSummary:
    """The periodic job: search Autotask for the reference of every current link created within
    the sweep window, 500 a query, and record duplicates. Raises a TicketError when Autotask
    cannot be asked (pages recorded before stay recorded)."""
    summary = SweepSummary()
    since = runtime.clock() - rules.SWEEP_WINDOW
    with runtime.session_factory() as session:
        connections = [row.id for row in named.all_connections(session)]
    for connection_id in connections:
        _sweep_connection(runtime, connection_id, since, summary)
    if summary.found or summary.changed or summary.cleared:
        log.info("duplicate sweep: %s", summary)
    return summary


def _sweep_connection(
    runtime: Runtime, connection_id: int, since: datetime, summary: SweepSummary
) -> None:
    with connected(runtime, connection_id, priority=Priority.BACKGROUND) as autotask:
        if autotask is None:
            return
        after_id = 0
        while targets := _targets(runtime, connection_id, since, after_id):
            try:
                found = search(autotask, [t.reference for t in targets])
            except ConnectorError as exc:
                raise translate(exc, autotask.name) from None
            summary.searched += len(targets)
            for run_id, outcome in record(runtime, targets, found_tickets(found)).items():
                if outcome in ("found", "changed", "cleared"):
                    getattr(summary, outcome).append(run_id)
            after_id = targets[-1].link_id


def check_run(runtime: Runtime, run_id: int) -> None:
    """Before a run page is shown: one quick search for the run's reference, at most every
    five minutes per link. A failure leaves what was recorded before on screen."""
    with runtime.session_factory() as session:
        link = store.current(session, run_id)
        if link is None or not searchable(link):
            return
        check = session.get(TicketDuplicateCheck, link.id)
        if not rules.check_due(check.checked_at if check else None, runtime.clock()):
            return
        target = Target(run_id, link.id, str(link.reference))
        connection_id = link.connection_id
    try:
        with connected(
            runtime, connection_id, quick=True, priority=Priority.BACKGROUND
        ) as autotask:
            if autotask is None:
                return
            found = search(autotask, [target.reference])
    except (ConnectorError, TicketError) as exc:
        log.info("duplicate check skipped for run %s: %s", run_id, exc)
        return
    record(runtime, [target], found_tickets(found), checked=True)
