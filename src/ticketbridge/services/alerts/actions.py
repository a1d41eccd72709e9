"""An operator's action on one alert: create its ticket, join a ticket, or ignore it.

An alert not correlated yet is correlated first (an open ticket found then is joined instead
of creating a second one).
"""

from __future__ import annotations

from enum import StrEnum

from ticketbridge.core.psa_governor import Priority
from ticketbridge.services.alerts import correlate, store, ticketing
from ticketbridge.services.alerts.store import AlertError, AlertState
from ticketbridge.services.alerts.ticketing import AlertOutcome
from ticketbridge.services.runtime import Runtime


class AlertAction(StrEnum):
    CREATE = "create"
    JOIN = "join"
    IGNORE = "ignore"


def act(
    runtime: Runtime,
    alert_id: int,
    action: AlertAction,
    *,
    actor: str,
    ticket_number: str | None = None,
) -> AlertOutcome:
    """Raises AlertNotFound, AlertError (bad input) or a TicketError (refused, blocked,
    being created, Autotask failing)."""
    with runtime.session_factory() as session:
        state = store.get(session, alert_id).state
    if action is AlertAction.IGNORE:
        return ticketing.ignore(runtime, alert_id, actor=actor)
    if action is AlertAction.JOIN and not (ticket_number or "").strip():
        raise AlertError("ticket_number", "a ticket number is required to join")
    if state == AlertState.NEW.value:
        correlate.correlate(runtime, alert_id, priority=Priority.OPERATOR)
        with runtime.session_factory() as session:
            alert = store.get(session, alert_id)
            if alert.state == AlertState.JOINED.value:
                return AlertOutcome.of(
                    alert, f"An open ticket was found: the alert joined {alert.ticket_number}."
                )
    if action is AlertAction.JOIN:
        return ticketing.join(runtime, alert_id, ticket_number or "", actor=actor)
    return ticketing.create(runtime, alert_id, actor=actor)
