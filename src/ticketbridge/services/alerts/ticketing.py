"""Tickets for alerts: create one exactly once, join an existing one, or ignore the alert
(docs/alerts.md; the notes for repeats are services.alerts.notes).

**Exactly once.** The alert row itself is the reservation: a conditional update moves it from
``waiting`` to ``creating`` (one click wins, the others are told a ticket is being created),
and every send is claimed by an update that matches the phase and attempt count read. Every
create carries the alert's reference (``alert-<id>@<installation>``) as externalID, so an
answer lost to a timeout is settled by a search for it; no second create is sent until the
quiet period of run tickets has passed (core.create_progress, docs/tickets.md "Exactly
once"), and the periodic job settles what a click left pending.

No database connection is held while Autotask answers: each step reads, commits, asks
Autotask, then writes its outcome in a new short transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update

from ticketbridge.connectors.errors import ConnectorError, ConnectorUnavailable
from ticketbridge.connectors.psa.base import RemoteTicket, TicketDraft, TicketUdfWriter
from ticketbridge.core import create_progress
from ticketbridge.core.create_progress import CreatePhase, CreateProgress, Step
from ticketbridge.core.psa_governor import Priority
from ticketbridge.services.alerts import content, notes, store
from ticketbridge.services.alerts.store import AlertState
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.tickets.create import create_timing
from ticketbridge.services.tickets.psa import (
    connect,
    error_details,
    roundtrip_connection,
    translate,
)
from ticketbridge.services.tickets.store import (
    PsaUnavailable,
    TicketActionRefused,
    TicketBeingCreated,
    TicketCreationBlocked,
)
from ticketbridge.storage.models import Alert

BEING_CREATED = "A ticket is being created for this alert."
NOT_CONFIRMED = "Nothing is known to have been created; the alert keeps its reservation."


@dataclass(frozen=True)
class AlertOutcome:
    alert_id: int
    state: str
    message: str
    ticket_id: int | None = None
    ticket_number: str | None = None

    @classmethod
    def of(cls, alert: Alert, message: str) -> AlertOutcome:
        return cls(alert.id, alert.state, message, alert.ticket_id, alert.ticket_number)


def _progress(alert: Alert, now: datetime) -> CreateProgress:
    return CreateProgress(
        CreatePhase(alert.create_phase or CreatePhase.QUEUED.value),
        alert.create_attempts,
        alert.attempted_at or now,
    )


# --- create ------------------------------------------------------------------------------


def create(runtime: Runtime, alert_id: int, *, actor: str) -> AlertOutcome:
    """Create the alert's ticket (with its Alert ID and Ticket ID UDFs) and wait for the
    outcome. Raises a TicketError (refused, blocked, being created, Autotask failing)."""
    reserve(runtime, alert_id, actor=actor)
    return settle(runtime, alert_id, actor=actor)


def reserve(runtime: Runtime, alert_id: int, *, actor: str) -> None:
    now = runtime.clock()
    with runtime.session_factory() as session:
        alert = store.get(session, alert_id)
        if alert.state == AlertState.CREATING.value:
            if not create_progress.worth_checking(
                _progress(alert, now), now, create_timing(runtime)
            ):
                raise TicketBeingCreated(BEING_CREATED)
            return  # an unknown outcome: settling it searches Autotask first
        refusal = content.create_refusal(alert)
        if refusal is not None:
            raise TicketActionRefused(refusal)
        if alert.company_id is None:
            raise TicketCreationBlocked(alert.reason or "The alert has no Autotask company.")
        reference = content.reference_for(session, alert.id)
        claimed = session.execute(
            update(Alert)
            .where(Alert.id == alert_id, Alert.state == AlertState.WAITING.value)
            .values(
                state=AlertState.CREATING.value,
                create_phase=CreatePhase.QUEUED.value,
                create_attempts=0,
                attempted_at=now,
                reference=reference,
                decided_by=actor[:200],
                decided_at=now,
                last_error=None,
            )
            .execution_options(synchronize_session=False)
        )
        if not getattr(claimed, "rowcount", 0):
            raise TicketBeingCreated(BEING_CREATED)
        session.commit()


def settle(runtime: Runtime, alert_id: int, *, actor: str) -> AlertOutcome:
    """Move a reservation on: search by reference once something was sent, then send, wait or
    give the alert back (core.create_progress.next_step)."""
    now = runtime.clock()
    with runtime.session_factory() as session:
        alert = store.get(session, alert_id)
        if alert.state != AlertState.CREATING.value:
            return AlertOutcome.of(alert, "The alert's ticket was settled meanwhile.")
        progress, reference = _progress(alert, now), alert.reference or ""
    timing = create_timing(runtime)
    if progress.attempts > 0:
        with (
            runtime.session_factory() as session,
            connect(runtime, session, roundtrip_connection(session)) as autotask,
        ):
            try:
                found = autotask.connector.find_tickets(external_id=reference)
            except ConnectorError as exc:
                raise PsaUnavailable(
                    f"Autotask could not be searched for the alert's ticket ({exc.message}). "
                    + NOT_CONFIRMED,
                    details=error_details(exc),
                ) from None
            if found:
                return _finish(runtime, alert_id, found[0], actor, searched=True)
            limit = getattr(
                getattr(autotask.connector, "config", None), "create_timeout_seconds", None
            )
            timing = create_timing(runtime, float(limit) if limit else None)
    step = create_progress.next_step(progress, runtime.clock(), timing)
    if step is Step.WAIT:
        raise TicketBeingCreated(
            f"{BEING_CREATED} {create_progress.waiting_label(progress, progress.touched_at, now)}."
        )
    if step is Step.RELEASE:
        why = "Autotask did not confirm the ticket after several tries and none was created."
        _release(runtime, alert_id, actor, why)
        raise PsaUnavailable(why + " Try again later.")
    return _send(runtime, alert_id, actor)


def _send(runtime: Runtime, alert_id: int, actor: str) -> AlertOutcome:
    with runtime.session_factory() as session:
        alert = store.get(session, alert_id)
        draft = content.draft_for(session, alert)
        if isinstance(draft, content.Blocked):
            _release(runtime, alert_id, actor, draft.reason, outcome="blocked")
            raise TicketCreationBlocked(draft.reason, details={"code": draft.code})
        claimed = session.execute(
            update(Alert)
            .where(
                Alert.id == alert_id,
                Alert.state == AlertState.CREATING.value,
                Alert.create_phase == alert.create_phase,
                Alert.create_attempts == alert.create_attempts,
            )
            .values(
                create_phase=CreatePhase.SENDING.value,
                create_attempts=alert.create_attempts + 1,
                attempted_at=runtime.clock(),
            )
            .execution_options(synchronize_session=False)
        )
        if not getattr(claimed, "rowcount", 0):
            raise TicketBeingCreated(BEING_CREATED)
        with connect(
            runtime, session, roundtrip_connection(session)
        ) as autotask:  # commits the claim before the send
            return _deliver(runtime, autotask.connector, alert_id, draft, actor, autotask.name)


def _deliver(
    runtime: Runtime, connector: Any, alert_id: int, draft: TicketDraft, actor: str, psa: str
) -> AlertOutcome:
    try:
        ticket = connector.create_ticket(draft)
    except ConnectorError as exc:
        ambiguous = exc.remote_id is not None or (
            isinstance(exc, ConnectorUnavailable) and exc.outcome_unknown
        )
        if not ambiguous:
            phase = CreatePhase.QUEUED if isinstance(exc, ConnectorUnavailable) else None
            _release(runtime, alert_id, actor, str(exc), requeue=phase, error=exc)
            raise translate(exc, psa) from None
        try:
            found = connector.find_tickets(external_id=draft.external_id or "")
        except ConnectorError:
            found = []
        if found:
            return _finish(runtime, alert_id, found[0], actor, searched=True)
        _set_phase(runtime, alert_id, CreatePhase.UNKNOWN, str(exc))
        store.audit_event(runtime, actor, "create", alert_id, "unknown", **error_details(exc))
        raise TicketBeingCreated(
            f"{BEING_CREATED} Autotask did not say whether it created the ticket; it is "
            "searched for before anything is sent again."
        ) from None
    return _finish(runtime, alert_id, ticket, actor, searched=False)


def _finish(
    runtime: Runtime, alert_id: int, ticket: RemoteTicket, actor: str, *, searched: bool
) -> AlertOutcome:
    now = runtime.clock()
    with runtime.session_factory() as session:
        alert = store.get(session, alert_id)
        alert.state = AlertState.TICKETED.value
        alert.ticket_id, alert.ticket_number = ticket.id, ticket.number
        alert.create_phase, alert.last_error = None, None
        alert.reason = f"Ticket {ticket.number} created by {actor}."
        for occurrence in store.unnoted(session, alert_id):
            occurrence.noted_at = now  # the new ticket's description counts them
        alert.last_note_at = now
        outcome = AlertOutcome.of(alert, f"Ticket {ticket.number} created.")
        session.commit()
    store.audit_event(
        runtime, actor, "create", alert_id, "recovered" if searched else "ok",
        ticket_id=ticket.id, ticket_number=ticket.number,
    )  # fmt: skip
    return outcome


def _release(
    runtime: Runtime,
    alert_id: int,
    actor: str,
    why: str,
    *,
    outcome: str = "failed",
    requeue: CreatePhase | None = None,
    error: BaseException | None = None,
) -> None:
    """A create that certainly made nothing: back to waiting (or queued again, for a refusal
    Autotask made before processing it)."""
    with runtime.session_factory() as session:
        alert = store.get(session, alert_id)
        alert.last_error = why[:500]
        if requeue is not None:
            alert.create_phase, alert.attempted_at = requeue.value, runtime.clock()
        else:
            alert.state = AlertState.WAITING.value
            alert.create_phase = None
            alert.reason = f"No ticket was created: {why}"
        session.commit()
    details = error_details(error) if error is not None else {"reason": why}
    store.audit_event(
        runtime, actor, "create", alert_id, "queued" if requeue else outcome, **details
    )


def _set_phase(runtime: Runtime, alert_id: int, phase: CreatePhase, error: str) -> None:
    with runtime.session_factory() as session:
        alert = store.get(session, alert_id)
        alert.create_phase, alert.attempted_at = phase.value, runtime.clock()
        alert.last_error = error[:500]
        session.commit()


# --- join, ignore --------------------------------------------------------------------------


def join(runtime: Runtime, alert_id: int, ticket_number: str, *, actor: str) -> AlertOutcome:
    """Join a waiting alert to an open ticket of its company, by ticket number. The ticket is
    given the alert's Alert ID and Ticket ID UDFs, as a ticket created for it would carry, so
    that the alert's next occurrences find it (services.alerts.correlate)."""
    number = ticket_number.strip()
    with runtime.session_factory() as session:
        alert = store.get(session, alert_id)
        if alert.state != AlertState.WAITING.value:
            raise TicketActionRefused(
                content.create_refusal(alert) or "Only a waiting alert joins."
            )
        company_id = alert.company_id
        udfs = content.udf_values(session, alert)
        with connect(runtime, session, roundtrip_connection(session)) as autotask:
            try:
                found = autotask.connector.find_tickets(ticket_number=number)
                ticket = _joinable(found, number, company_id)
                if udfs and isinstance(autotask.connector, TicketUdfWriter):
                    autotask.connector.set_ticket_udfs(ticket.id, udfs)
            except ConnectorError as exc:
                raise translate(exc, autotask.name) from None
    attach(runtime, alert_id, ticket, actor=actor, reason=f"Joined to {number} by {actor}.")
    notes.send_notes(runtime, alert_id, priority=Priority.OPERATOR)
    with runtime.session_factory() as session:
        return AlertOutcome.of(store.get(session, alert_id), f"Joined to ticket {number}.")


def _joinable(found: list[RemoteTicket], number: str, company_id: int | None) -> RemoteTicket:
    if not found:
        raise store.AlertError("ticket_number", f"Autotask has no ticket {number!r}.")
    ticket = found[0]
    if ticket.company_id != company_id:
        raise store.AlertError(
            "ticket_number", f"Ticket {number} belongs to another company ({ticket.company_id})."
        )
    if ticket.is_completed:
        raise store.AlertError("ticket_number", f"Ticket {number} is complete.")
    return ticket


def attach(
    runtime: Runtime, alert_id: int, ticket: RemoteTicket, *, actor: str, reason: str
) -> bool:
    """Mark a new or waiting alert as joined to ``ticket`` (False: it moved on meanwhile)."""
    now = runtime.clock()
    with runtime.session_factory() as session:
        changed = session.execute(
            update(Alert)
            .where(
                Alert.id == alert_id,
                Alert.state.in_((AlertState.NEW.value, AlertState.WAITING.value)),
            )
            .values(
                state=AlertState.JOINED.value,
                ticket_id=ticket.id,
                ticket_number=ticket.number,
                reason=reason,
                decided_by=actor[:200],
                decided_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        session.commit()
    if not getattr(changed, "rowcount", 0):
        return False
    store.audit_event(
        runtime, actor, "join", alert_id, "ok", ticket_id=ticket.id, ticket_number=ticket.number
    )
    return True


def ignore(runtime: Runtime, alert_id: int, *, actor: str) -> AlertOutcome:
    """An operator's decision: no ticket. Repeats are still counted on the alert."""
    with runtime.session_factory() as session:
        alert = store.get(session, alert_id)
        if alert.state not in (AlertState.NEW.value, AlertState.WAITING.value):
            raise TicketActionRefused(content.create_refusal(alert) or "This alert moved on.")
        alert.state = AlertState.IGNORED.value
        alert.decided_by, alert.decided_at = actor[:200], runtime.clock()
        alert.reason = f"Ignored by {actor}."
        outcome = AlertOutcome.of(alert, "Alert ignored.")
        session.commit()
    store.audit_event(runtime, actor, "ignore", alert_id, "ok")
    return outcome
