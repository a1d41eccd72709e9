"""Resolve a run's ticket from ticketbridge (design §6, §6A.3, §6B, §7.5).

Only when "allow resolving" is on and the link holds a validated ticket ID. The ticket is read
again first (not found: the deletion rule of §6B marks the link suspected or deleted, and
nothing is sent; already Complete: recorded, nothing sent), its time entries are counted, and
:func:`ticketbridge.core.resolve_policy.decide_resolve` decides: no time entries, the fixed
§6.3 internal note and status Complete; some, the fixed §6.2 internal note and the ticket stays
open for its owner. At most four requests. Every decision is audited with its evidence.
"""

from __future__ import annotations

from typing import Any

from ticketbridge.connectors.errors import ConnectorError
from ticketbridge.core import resolve_policy as policy
from ticketbridge.core import ticket_links as rules
from ticketbridge.core.resolve_policy import PicklistOption, ResolveAction, TicketSnapshot
from ticketbridge.core.ticket_links import Action, LinkState
from ticketbridge.services.connections import reference
from ticketbridge.services.runs import records as runs
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.tickets import store
from ticketbridge.services.tickets.psa import (
    connect,
    current_settings,
    error_details,
    internal_publish,
    mode_of,
    translate,
)
from ticketbridge.services.tickets.store import LinkResult, TicketActionRefused
from ticketbridge.storage.models import TicketLinkRow

ACTION = Action.RESOLVE.value


def _options(values: list[Any]) -> list[PicklistOption]:
    return [PicklistOption(int(v.value_id), v.name, bool(v.active), v.value_group) for v in values]


def _label(values: list[Any], value_id: int | None) -> str | None:
    """The name of a status by its id, as the reference data has it."""
    return next((v.name for v in values if value_id is not None and v.value_id == value_id), None)


def miss_message(row: TicketLinkRow, psa: str) -> str:
    if row.state == LinkState.DELETED_EXTERNAL.value:
        return f"The ticket was deleted in {psa}: re-link or create a new ticket."
    return f"The ticket was not found in {psa}. It will be checked again in a minute."


def resolve(runtime: Runtime, run_id: int, *, actor: str) -> LinkResult:
    with runtime.session_factory() as session:
        runs.get_run(session, run_id)
        row = store.current(session, run_id)
        connection_id = row.connection_id if row is not None else None
        settings = current_settings(session, connection_id)
        link = store.to_link(row) if row is not None else None
        why = rules.refusal(Action.RESOLVE, link, mode_of(settings), settings.allow_resolve)
        if why is None and link is not None:
            early = policy.precheck(settings.allow_resolve, link.ticket_id)
            why = early.reason if early is not None else None
        if why is not None or row is None or link is None or link.ticket_id is None:
            reason = why or "This run has no ticket."
            store.audit_action(
                session, actor=actor, action=ACTION, run_id=run_id, outcome="refused",
                details={"reason": reason, **store.describe(row)},
            )  # fmt: skip
            session.commit()
            raise TicketActionRefused(reason)
        lists = reference.options(session, connection_id)
        complete_id = policy.complete_status_value(_options(lists.get("status", [])))
        publish = internal_publish(session, connection_id)
        ticket_id = link.ticket_id
        evidence: dict[str, Any] = {"ticket_id": ticket_id, "ticket_number": row.ticket_number}

        with connect(runtime, session, connection_id) as autotask:
            connector = autotask.connector
            try:
                remote = connector.get_tickets([ticket_id]).get(ticket_id)
                now = runtime.clock()
                if remote is None:
                    store.apply(row, rules.record_miss(link, now))
                    message = miss_message(row, autotask.name)
                    store.audit_action(
                        session, actor=actor, action=ACTION, run_id=run_id, outcome="blocked",
                        details={**evidence, "block": "ticket_not_found", "state": row.state},
                    )  # fmt: skip
                    session.commit()
                    raise TicketActionRefused(message)
                link = rules.record_found(link, remote.status_id or 0, now)
                row.last_status_label = remote.status_label or None
                snapshot = TicketSnapshot(
                    remote.id, remote.status_id or 0, completed=remote.is_completed
                )
                count = (
                    connector.count_time_entries(ticket_id)
                    if policy.needs_time_entry_count(snapshot, complete_id)
                    else None
                )
                decision = policy.decide_resolve(
                    allow_resolve=settings.allow_resolve,
                    ticket_id=ticket_id,
                    ticket=snapshot,
                    complete_status_id=complete_id,
                    internal_publish=publish,
                    time_entry_count=count,
                )
                evidence |= decision.evidence
                if decision.action is ResolveAction.BLOCKED:
                    store.apply(row, link)
                    store.audit_action(
                        session, actor=actor, action=ACTION, run_id=run_id, outcome="blocked",
                        details={**evidence, "block": decision.block},
                    )  # fmt: skip
                    session.commit()
                    raise TicketActionRefused(decision.reason or "Resolve is not possible.")
                if decision.note_text is not None:
                    evidence["note_id"] = connector.add_note(
                        ticket_id, decision.note_text, internal=True
                    )
                if decision.set_status_id is not None:  # set only for CLOSE
                    connector.close_ticket(ticket_id, decision.set_status_id)
            except ConnectorError as exc:
                session.rollback()
                _failed(runtime, actor, run_id, evidence | error_details(exc))
                raise translate(exc, autotask.name) from None

        now = runtime.clock()
        if decision.action is ResolveAction.LEAVE_OPEN:
            link = rules.left_open(link, count or 0, snapshot.status_id, now)
            message = decision.run_message or ""
        else:
            link = rules.resolved(link, decision.set_status_id or snapshot.status_id, now)
            done = _label(lists.get("status", []), decision.set_status_id) or policy.COMPLETE_LABEL
            message = (
                f"The ticket was already {done} in {autotask.name}."
                if decision.action is ResolveAction.ALREADY_COMPLETE
                else f"Ticket {row.ticket_number} resolved and set to {done}."
            )
            if decision.action is ResolveAction.CLOSE:
                row.last_status_label = done
        store.apply(row, link)
        row.resolved_by, row.resolved_at = actor, now
        row.resolve_evidence = {"decision": decision.action.value, **evidence}
        store.audit_action(
            session, actor=actor, action=ACTION, run_id=run_id, outcome=decision.action.value,
            details=evidence,
        )  # fmt: skip
        session.commit()
        return LinkResult(row, message[:1].upper() + message[1:])


def _failed(runtime: Runtime, actor: str, run_id: int, details: dict[str, Any]) -> None:
    with runtime.session_factory() as session:
        store.audit_action(
            session, actor=actor, action=ACTION, run_id=run_id, outcome="failed", details=details
        )
        session.commit()
