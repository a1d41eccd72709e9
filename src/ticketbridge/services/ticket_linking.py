"""Link existing, Re-link and manual ticket numbers (design §6A, §6B.2, §9.1, §9.2).

Link existing (and Re-link after a deletion) validates a ticket number in Autotask and stores the
ticket's ID and number: the run then follows the rules of an integration-created ticket. A
manual ticket number is the pre-integration workflow: allowed while the integration is disabled,
or with compatibility mode on; it is shown, never resolved, and Link existing turns it into a
validated link. Every replaced link is kept as history (superseded), never deleted.
"""

from __future__ import annotations

import re

from ticketbridge.connectors.errors import ConnectorError
from ticketbridge.core import ticket_links as rules
from ticketbridge.core.ticket_links import Action, LinkState
from ticketbridge.services import runs
from ticketbridge.services import ticket_store as store
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.ticket_create import BEING_CREATED
from ticketbridge.services.ticket_psa import (
    connect,
    current_settings,
    error_details,
    mode_of,
    ticket_url,
    translate,
)
from ticketbridge.services.ticket_store import (
    LinkResult,
    TicketActionRefused,
    TicketBeingCreated,
    TicketInputInvalid,
)

# Autotask numbers look like T20260113.0042; manual numbers came from any system, so allow the
# usual ticket-number characters and nothing that could smuggle markup or a second line.
_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/#-]{0,49}$")


def clean_number(raw: str) -> str:
    number = (raw or "").strip()
    if not _NUMBER.fullmatch(number):
        raise TicketInputInvalid(
            "Enter a ticket number: letters, digits and . _ / # - only, at most 50 characters.",
            details={"fields": [{"field": "ticket_number", "message": "invalid ticket number"}]},
        )
    return number


def _refuse(runtime: Runtime, actor: str, action: Action, run_id: int, why: str) -> None:
    with runtime.session_factory() as session:
        store.audit_action(
            session, actor=actor, action=action.value, run_id=run_id, outcome="refused",
            details={"reason": why},
        )  # fmt: skip
        session.commit()
    raise TicketActionRefused(why)


def link_existing(runtime: Runtime, run_id: int, ticket_number: str, *, actor: str) -> LinkResult:
    """Link existing Autotask ticket, or Re-link after the linked ticket was deleted."""
    number = clean_number(ticket_number)
    with runtime.session_factory() as session:
        runs.get_run(session, run_id)
        settings = current_settings(session)
        row = store.current(session, run_id)
        link = store.to_link(row) if row is not None else None
        deleted = link is not None and link.state is LinkState.DELETED_EXTERNAL
        action = Action.RELINK if deleted else Action.LINK_EXISTING
        why = rules.refusal(action, link, mode_of(settings), settings.allow_resolve)
        if why is not None:
            _refuse(runtime, actor, action, run_id, why)
        with connect(runtime, session) as autotask:
            try:
                found = autotask.connector.find_tickets(ticket_number=number)
            except ConnectorError as exc:
                session.rollback()
                with runtime.session_factory() as other:
                    store.audit_action(
                        other, actor=actor, action=action.value, run_id=run_id,
                        outcome="failed", details={"ticket_number": number, **error_details(exc)},
                    )  # fmt: skip
                    other.commit()
                raise translate(exc) from None
            if not found:
                store.audit_action(
                    session, actor=actor, action=action.value, run_id=run_id, outcome="not_found",
                    details={"ticket_number": number},
                )  # fmt: skip
                session.commit()
                raise TicketInputInvalid(
                    f"Autotask has no ticket with number {number}.",
                    details={"fields": [{"field": "ticket_number", "message": "not found"}]},
                )
            ticket = found[0]
            url = ticket_url(autotask, ticket.id)
        now = runtime.clock()
        new = store.new_row(
            rules.linked(run_id, ticket.id, ticket.number, actor, now),
            ticket_url=url,
            last_status_id=ticket.status_id,
            last_status_label=ticket.status_label or None,
        )
        if not store.replace(session, row, new, now):
            raise TicketActionRefused("The run's ticket changed meanwhile; reload and try again.")
        store.audit_action(
            session, actor=actor, action=action.value, run_id=run_id,
            details={"ticket_id": ticket.id, "ticket_number": ticket.number,
                     "replaced": store.describe(row)},
        )  # fmt: skip
        session.commit()
        return LinkResult(new, f"Autotask ticket {ticket.number} linked.")


def set_manual_number(
    runtime: Runtime, run_id: int, ticket_number: str, *, actor: str
) -> LinkResult:
    """Record a ticket number typed in by an operator; no request to Autotask."""
    number = clean_number(ticket_number)
    with runtime.session_factory() as session:
        runs.get_run(session, run_id)
        settings = current_settings(session)
        row = store.current(session, run_id)
        link = store.to_link(row) if row is not None else None
        why = rules.refusal(Action.MANUAL_NUMBER, link, mode_of(settings), settings.allow_resolve)
        if why is not None:
            if link is not None and link.state is LinkState.CREATING:
                raise TicketBeingCreated(BEING_CREATED)
            _refuse(runtime, actor, Action.MANUAL_NUMBER, run_id, why)
        now = runtime.clock()
        new = store.new_row(rules.manual(run_id, number, actor, now))
        if not store.replace(session, row, new, now):
            raise TicketActionRefused("The run's ticket changed meanwhile; reload and try again.")
        store.audit_action(
            session, actor=actor, action=Action.MANUAL_NUMBER.value, run_id=run_id,
            details={"ticket_number": number, "replaced": store.describe(row)},
        )  # fmt: skip
        session.commit()
        return LinkResult(new, f"Ticket number {number} recorded.")
