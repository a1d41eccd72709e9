"""How a create's reservation ends, each in a transaction of its own and audited.

A reservation is the run's link in state ``creating``. It ends linked to the ticket Autotask
holds for the run's reference (:func:`finish`), released and kept as history when Autotask
certainly created nothing (:func:`release`), or stays reserved with its outcome unknown, for
settling to search again (:func:`leave_unknown`). Clicks and the periodic job end
reservations through these.
"""

from __future__ import annotations

from typing import Any

from ticketbridge.connectors.psa.base import RemoteTicket
from ticketbridge.core import ticket_links as rules
from ticketbridge.core.create_progress import CreatePhase
from ticketbridge.core.ticket_links import Action, LinkState
from ticketbridge.services.connections.active import ActiveConnection
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.tickets import store
from ticketbridge.services.tickets.duplicate_store import record_found
from ticketbridge.services.tickets.psa import error_details, ticket_url
from ticketbridge.services.tickets.store import LinkResult

NOT_CONFIRMED = (
    "Autotask has not confirmed the ticket yet. ticketbridge keeps checking and sends no "
    "second create before it knows; the run shows the ticket as soon as Autotask has it."
)


def finish(
    runtime: Runtime,
    autotask: ActiveConnection,
    link_id: int,
    found: list[RemoteTicket],
    actor: str,
    action: Action,
    problems: list[dict[str, Any]],
    *,
    searched: bool = False,
    context: dict[str, Any] | None = None,
) -> LinkResult:
    """Link the reservation to the oldest of the tickets found (any others are duplicates,
    listed in the audit event). ``searched``: found by a search, not returned by the create.
    ``context``: more audit details from the caller."""
    ticket = min(found, key=lambda t: t.id)
    now = runtime.clock()
    with runtime.session_factory() as session:
        row = store.get(session, link_id)
        assert row is not None
        details: dict[str, Any] = {
            "ticket_id": ticket.id,
            "ticket_number": ticket.number,
            "reference": row.reference,
            "attempts": problems,
            "status": ticket.status_label,
            **(context or {}),
        }
        if len(found) > 1:
            details["duplicates"] = sorted(t.id for t in found)
        if row.state != LinkState.CREATING.value:
            # Someone recovered this reservation meanwhile; say what we found, change nothing.
            store.audit_action(
                session, actor=actor, action=action.value, run_id=row.run_id,
                outcome="conflict", details=details,
            )  # fmt: skip
            session.commit()
            return LinkResult(row, "The run's ticket was linked by another attempt.")
        link = rules.created(store.to_link(row), ticket.id, ticket.number, now)
        store.apply(row, link)
        row.create_phase = None
        if len(found) > 1:  # shown on the run until an operator chooses which one stays
            record_found(session, row.run_id, row.id, found, now, actor=actor)
        row.ticket_url = ticket_url(autotask, ticket.id)
        row.last_status_id = ticket.status_id
        row.last_status_label = ticket.status_label or None
        row.last_error = None
        store.audit_action(
            session, actor=actor, action=action.value, run_id=row.run_id,
            outcome="recovered" if problems or searched else "ok", details=details,
        )  # fmt: skip
        session.commit()
        return LinkResult(row, f"{autotask.name} ticket {ticket.number} created.")


def release(
    runtime: Runtime,
    link_id: int,
    actor: str,
    action: Action,
    problems: list[dict[str, Any]],
    error: str,
    *,
    outcome: str = "failed",
    context: dict[str, Any] | None = None,
) -> None:
    """Autotask certainly created nothing (or the create was blocked before it was sent): end
    the reservation, keeping it as history."""
    now = runtime.clock()
    with runtime.session_factory() as session:
        row = store.get(session, link_id)
        assert row is not None
        run_id = row.run_id
        row.last_error = error[:500]
        session.flush()
        store.release(session, row, now)
        store.audit_action(
            session, actor=actor, action=action.value, run_id=run_id, outcome=outcome,
            details={"reference": row.reference, "attempts": problems, **(context or {})},
        )  # fmt: skip
        session.commit()


def leave_unknown(
    runtime: Runtime,
    link_id: int,
    actor: str,
    action: Action,
    problems: list[dict[str, Any]],
    *,
    context: dict[str, Any] | None = None,
) -> LinkResult:
    """Autotask did not say whether it created the ticket: keep the reservation, its outcome
    unknown from now on, for settling to search again until the quiet period is over."""
    return _keep(
        runtime, link_id, actor, action, problems, CreatePhase.UNKNOWN, "unknown", NOT_CONFIRMED,
        context,
    )  # fmt: skip


def requeue(
    runtime: Runtime,
    link_id: int,
    actor: str,
    action: Action,
    problems: list[dict[str, Any]],
    *,
    context: dict[str, Any] | None = None,
) -> LinkResult:
    """Autotask refused the create before processing it (throttled, unavailable): keep the
    reservation queued, for settling to send it again shortly."""
    return _keep(
        runtime, link_id, actor, action, problems, CreatePhase.QUEUED, "retry_later",
        "Autotask is busy; the ticket will be created as soon as it accepts requests again.",
        context,
    )  # fmt: skip


def _keep(
    runtime: Runtime,
    link_id: int,
    actor: str,
    action: Action,
    problems: list[dict[str, Any]],
    phase: CreatePhase,
    outcome: str,
    message: str,
    context: dict[str, Any] | None,
) -> LinkResult:
    with runtime.session_factory() as session:
        row = store.get(session, link_id)
        assert row is not None
        row.attempted_at = runtime.clock()
        row.create_phase = phase.value
        row.last_error = message
        store.audit_action(
            session, actor=actor, action=action.value, run_id=row.run_id, outcome=outcome,
            details={"reference": row.reference, "attempts": problems, **(context or {})},
        )  # fmt: skip
        session.commit()
        return LinkResult(row, message)


def audit_failed(runtime: Runtime, actor: str, action: Action, run_id: int, exc: Exception) -> None:
    """Audit a request of the action that failed, in a transaction of its own."""
    with runtime.session_factory() as session:
        store.audit_action(
            session, actor=actor, action=action.value, run_id=run_id, outcome="failed",
            details=error_details(exc),
        )  # fmt: skip
        session.commit()
