"""Link existing, Re-link and manual ticket numbers (design §6A, §6B.2, §9.1, §9.2).

Link existing (and Re-link after a deletion) validates a ticket number in Autotask and stores the
ticket's ID and number: the run then follows the rules of an integration-created ticket. A
manual ticket number is the pre-integration workflow: allowed while the integration is disabled,
or with compatibility mode on; it is shown, never resolved, and Link existing turns it into a
validated link. Every replaced link is kept as history (superseded), never deleted.

A ticket of another company than the one the run's customer is mapped to is refused (409,
``company_mismatch``, both companies named) unless the operator confirms the mismatch; a
confirmed link is audited with outcome ``company_mismatch_confirmed`` and both companies
(issue 11). A customer without a mapping has nothing to compare: the link is made and its
event says the company was not checked.
"""

from __future__ import annotations

import re
from typing import Any

from ticketbridge.connectors.errors import ConnectorError
from ticketbridge.connectors.psa.base import PsaConnector, RemoteTicket
from ticketbridge.core import ticket_links as rules
from ticketbridge.core.mapping_status import CompanyMapping
from ticketbridge.core.ticket_links import Action, LinkState
from ticketbridge.services.connections import mapping
from ticketbridge.services.runs import records as runs
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.tickets import store
from ticketbridge.services.tickets.create import BEING_CREATED
from ticketbridge.services.tickets.psa import (
    connect,
    error_details,
    mode_of,
    new_ticket_connection,
    ticket_url,
    translate,
)
from ticketbridge.services.tickets.store import (
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


COMPANY_MISMATCH = "company_mismatch"


def link_existing(
    runtime: Runtime,
    run_id: int,
    ticket_number: str,
    *,
    actor: str,
    confirm_company_mismatch: bool = False,
) -> LinkResult:
    """Link existing Autotask ticket, or Re-link after the linked ticket was deleted. A ticket
    of another company than the customer's is linked only with ``confirm_company_mismatch``."""
    number = clean_number(ticket_number)
    with runtime.session_factory() as session:
        run = runs.get_run(session, run_id)
        customer_name = run.job.customer.name
        known = mapping.mapping_for_customer(session, run.job.customer_id)
        connection, settings = new_ticket_connection(session, run.job.customer_id)
        row = store.current(session, run_id)
        link = store.to_link(row) if row is not None else None
        deleted = link is not None and link.state is LinkState.DELETED_EXTERNAL
        action = Action.RELINK if deleted else Action.LINK_EXISTING
        why = rules.refusal(action, link, mode_of(settings), settings.allow_resolve)
        if why is not None:
            _refuse(runtime, actor, action, run_id, why)
        assert connection is not None  # refused above while there is none
        with connect(runtime, session, connection.id) as autotask:
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
                raise translate(exc, autotask.name) from None
            if not found:
                store.audit_action(
                    session, actor=actor, action=action.value, run_id=run_id, outcome="not_found",
                    details={"ticket_number": number},
                )  # fmt: skip
                session.commit()
                raise TicketInputInvalid(
                    f"{autotask.name} has no ticket with number {number}.",
                    details={"fields": [{"field": "ticket_number", "message": "not found"}]},
                )
            ticket = found[0]
            companies = _companies(autotask.connector, ticket, known, customer_name)
            mismatch = _mismatch(ticket, known)
            if mismatch and not confirm_company_mismatch:
                why = _mismatch_message(ticket, companies, customer_name)
                details = {"code": COMPANY_MISMATCH, "ticket_id": ticket.id,
                           "ticket_number": ticket.number, **companies}  # fmt: skip
                store.audit_action(
                    session, actor=actor, action=action.value, run_id=run_id, outcome="refused",
                    details={"reason": why, **details},
                )  # fmt: skip
                session.commit()
                raise TicketActionRefused(why, details=details)
            url = ticket_url(autotask, ticket.id)
        now = runtime.clock()
        new = store.new_row(
            rules.linked(run_id, ticket.id, ticket.number, actor, now),
            connection,
            ticket_url=url,
            last_status_id=ticket.status_id,
            last_status_label=ticket.status_label or None,
        )
        if not store.replace(session, row, new, now):
            raise TicketActionRefused("The run's ticket changed meanwhile; reload and try again.")
        store.audit_action(
            session, actor=actor, action=action.value, run_id=run_id,
            outcome="company_mismatch_confirmed" if mismatch else "ok",
            details={"ticket_id": ticket.id, "ticket_number": ticket.number,
                     "replaced": store.describe(row), **companies},
        )  # fmt: skip
        session.commit()
        if mismatch:
            return LinkResult(
                new,
                f"{autotask.name} ticket {ticket.number} linked, though it belongs to "
                f"{_company_text(companies['ticket_company'])}; the mismatch is in the audit log.",
            )
        return LinkResult(new, f"{connection.name} ticket {ticket.number} linked.")


def _mismatch(ticket: RemoteTicket, known: CompanyMapping) -> bool:
    """The ticket belongs to a company other than the one the customer is mapped to. Nothing to
    compare when either is unknown."""
    return (
        known.company_id is not None
        and ticket.company_id is not None
        and ticket.company_id != known.company_id
    )


def _companies(
    connector: PsaConnector, ticket: RemoteTicket, known: CompanyMapping, customer_name: str
) -> dict[str, Any]:
    """Both companies for the audit and the message: the ticket's (its name read from
    Autotask only when it differs: one request) and the customer's mapped one."""
    customer_company: dict[str, Any] = {
        "customer": customer_name,
        "id": known.company_id,
        "name": known.cached_name,
    }
    if known.company_id is None:
        customer_company["checked"] = False  # not mapped: the ticket's company is not judged
    name = known.cached_name if ticket.company_id == known.company_id else None
    if name is None and ticket.company_id is not None and _mismatch(ticket, known):
        try:
            found = connector.get_companies([ticket.company_id]).get(ticket.company_id)
        except ConnectorError:
            found = None  # the id still says enough
        name = found.name if found is not None else None
    ticket_company = {"id": ticket.company_id, "name": name}
    return {"ticket_company": ticket_company, "customer_company": customer_company}


def _company_text(company: dict[str, Any]) -> str:
    name, company_id = company.get("name"), company.get("id")
    return f"{name} (company {company_id})" if name else f"company {company_id}"


def _mismatch_message(ticket: RemoteTicket, companies: dict[str, Any], customer: str) -> str:
    return (
        f"Ticket {ticket.number} belongs to {_company_text(companies['ticket_company'])}, not to "
        f"{_company_text(companies['customer_company'])}, the company of customer {customer}. "
        "Confirm the company mismatch to link it anyway."
    )


def set_manual_number(
    runtime: Runtime, run_id: int, ticket_number: str, *, actor: str
) -> LinkResult:
    """Record a ticket number typed in by an operator; no request to Autotask."""
    number = clean_number(ticket_number)
    with runtime.session_factory() as session:
        run = runs.get_run(session, run_id)
        connection, settings = new_ticket_connection(session, run.job.customer_id)
        row = store.current(session, run_id)
        link = store.to_link(row) if row is not None else None
        why = rules.refusal(Action.MANUAL_NUMBER, link, mode_of(settings), settings.allow_resolve)
        if why is not None:
            if link is not None and link.state is LinkState.CREATING:
                raise TicketBeingCreated(BEING_CREATED)
            _refuse(runtime, actor, Action.MANUAL_NUMBER, run_id, why)
        now = runtime.clock()
        assert connection is not None  # refused above while there is none
        new = store.new_row(rules.manual(run_id, number, actor, now), connection)
        if not store.replace(session, row, new, now):
            raise TicketActionRefused("The run's ticket changed meanwhile; reload and try again.")
        store.audit_action(
            session, actor=actor, action=Action.MANUAL_NUMBER.value, run_id=run_id,
            details={"ticket_number": number, "replaced": store.describe(row)},
        )  # fmt: skip
        session.commit()
        return LinkResult(new, f"Ticket number {number} recorded.")
