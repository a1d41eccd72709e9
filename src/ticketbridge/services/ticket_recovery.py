"""Recovery of links stuck in ``creating`` (design §5, §7.3).

A crash between Autotask's commit and ours leaves the run's link in ``creating``. Once the
reservation is stale, the next create for that run or the periodic job (:func:`recover_stale`)
claims it, searches Autotask for the run's reference and links what it finds, or releases the
row when nothing was created.
"""

from __future__ import annotations

from sqlalchemy import select

from ticketbridge.connectors.errors import ConnectorError
from ticketbridge.core.ticket_links import Action, LinkState
from ticketbridge.services import ticket_reservation
from ticketbridge.services import ticket_store as store
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.ticket_psa import connect, current_settings, translate
from ticketbridge.storage.models import TicketLinkRow


def recover(runtime: Runtime, link_id: int, *, actor: str) -> TicketLinkRow | None:
    """Settle one stale ``creating`` link: link the ticket Autotask holds for its reference,
    or release it when there is none. None when another recoverer took it."""
    now = runtime.clock()
    with runtime.session_factory() as session:
        row = store.get(session, link_id)
        if row is None or not store.is_stale_creation(row, now):
            return row
        if not store.claim_stale(session, row, now):
            return None
        try:
            with connect(runtime, session) as autotask:
                found = (
                    autotask.connector.find_tickets(external_id=row.reference)
                    if row.reference
                    else []
                )
                if found:
                    return ticket_reservation.finish(
                        runtime, autotask, link_id, found, actor, Action.CREATE, []
                    ).link
        except ConnectorError as exc:
            ticket_reservation.audit_failed(runtime, actor, Action.CREATE, row.run_id, exc)
            raise translate(exc) from None
    ticket_reservation.release(
        runtime, link_id, actor, Action.CREATE, [],
        "No ticket with this run's reference exists in Autotask; the create never arrived.",
    )  # fmt: skip
    with runtime.session_factory() as session:
        return store.get(session, link_id)


def recover_stale(runtime: Runtime) -> int:
    """The periodic job: settle every stale reservation. Sends nothing while disabled."""
    now = runtime.clock()
    with runtime.session_factory() as session:
        if not current_settings(session).enabled:
            return 0
        rows = list(
            session.scalars(
                select(TicketLinkRow).where(TicketLinkRow.state == LinkState.CREATING.value)
            )
        )
    settled = 0
    for row in rows:
        if not store.is_stale_creation(row, now):
            continue
        try:
            if recover(runtime, row.id, actor="system") is not None:
                settled += 1
        except store.TicketError:
            continue  # audited; the next run of the job tries again
    return settled
