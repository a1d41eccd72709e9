"""What an alert's ticket is made of, and why an alert cannot be ticketed (database only).

Fields follow run tickets (core.ticket_fields, with the Error priority: an RMM raised it): the
company of the alert's customer, the ticket defaults of Settings > Integrations > Autotask. On
top, the alert's configuration item and the source's "Alert ID" and "Ticket ID" UDFs, which
is what lets the next alert with the same ID find the ticket, as Autotask's own mail service
would.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from ticketbridge.connectors.psa.base import TicketDraft
from ticketbridge.core import ticket_fields
from ticketbridge.core.alert_dedup import alert_reference
from ticketbridge.core.statuses import RunStatus
from ticketbridge.core.ticket_content import MARKER_PREFIX
from ticketbridge.services.alerts import store
from ticketbridge.services.alerts.store import AlertState
from ticketbridge.services.connections import mapping
from ticketbridge.services.tickets.draft import installation_of
from ticketbridge.services.tickets.psa import current_settings, roundtrip_connection
from ticketbridge.storage.models import Alert, Customer

DESCRIPTION_LIMIT = 8000  # Autotask's Tickets.description
TITLE_LIMIT = 255


@dataclass(frozen=True)
class Blocked:
    code: str
    reason: str


def create_refusal(alert: Alert) -> str | None:
    """Why no ticket can be created for the alert in its state (None: it can)."""
    state = AlertState(alert.state)
    if state is AlertState.WAITING:
        return None
    return {
        AlertState.NEW: "The alert is not correlated with Autotask yet; try again in a minute.",
        AlertState.CREATING: "A ticket is being created for this alert.",
        AlertState.TICKETED: f"This alert already has ticket {alert.ticket_number}.",
        AlertState.JOINED: f"This alert already joined ticket {alert.ticket_number}.",
        AlertState.IGNORED: "This alert was ignored.",
        AlertState.CLOSED: "This alert is closed: its ticket ended.",
    }[state]


def reference_for(session: Session, alert_id: int) -> str:
    return alert_reference(
        alert_id, installation_of(current_settings(session, roundtrip_connection(session)).base_url)
    )


def draft_for(session: Session, alert: Alert) -> TicketDraft | Blocked:
    settings = current_settings(session, roundtrip_connection(session))
    customer = session.get(Customer, alert.customer_id) if alert.customer_id else None
    if customer is None:
        return Blocked("mapping_missing", alert.reason or "The alert has no customer.")
    company = mapping.mapping_for_customer(session, customer.id, roundtrip_connection(session))
    fields = ticket_fields.new_ticket_fields(
        RunStatus.ERROR, customer.name, company, settings.defaults, settings.base_url
    )
    if isinstance(fields, ticket_fields.Blocked):
        return Blocked(fields.code.value, fields.reason)
    source = store.get_source(session, alert.source_id)
    return TicketDraft(
        company_id=fields.company_id,
        title=alert.title[:TITLE_LIMIT] or "RMM alert",
        description=description(alert, source.name, customer.name, settings.base_url),
        queue_id=fields.queue_id,
        source_id=fields.source_id,
        status_id=fields.status_id,
        priority_id=fields.priority_id,
        external_id=alert.reference,
        configuration_item_id=alert.ci_id,
        user_defined_fields=udf_values(session, alert),
    )


def udf_values(session: Session, alert: Alert) -> tuple[tuple[str, str], ...]:
    """The alert's "<source> Alert ID" and "<source> Ticket ID" UDFs, those it has a value
    for: what a ticket needs to carry for the alert's repeats to find it."""
    _, alert_udf, ticket_udf = store.udf_names(store.get_source(session, alert.source_id))
    return tuple(
        (name, value)
        for name, value in ((alert_udf, alert.alert_ref), (ticket_udf, alert.ticket_ref))
        if value
    )


def description(alert: Alert, source: str, customer: str, base_url: str) -> str:
    """The alert's text, then its facts, the link back and the reference marker line."""
    facts = [f"RMM alert from {source}."]
    if alert.alert_ref:
        facts.append(f"Alert ID: {alert.alert_ref}")
    if alert.ticket_ref:
        facts.append(f"{source} ticket ID: {alert.ticket_ref}")
    if alert.customer_ref:
        facts.append(f"Customer ID: {alert.customer_ref} (ticketbridge customer {customer})")
    if alert.device_ref:
        item = f" (configuration item {alert.ci_name or alert.ci_id})" if alert.ci_id else ""
        facts.append(f"Device ID: {alert.device_ref}{item}")
    first = alert.first_seen_at.strftime("%Y-%m-%d %H:%M UTC")
    last = alert.last_seen_at.strftime("%Y-%m-%d %H:%M UTC")
    facts.append(f"Received {alert.count} time(s), first {first}, last {last}.")
    facts.append(f"In ticketbridge: {base_url.strip().rstrip('/')}/alerts#alert-{alert.id}")
    tail = "\n".join(facts) + f"\n{MARKER_PREFIX}{alert.reference}"
    room = DESCRIPTION_LIMIT - len(tail) - 2
    summary = alert.summary.strip()
    if len(summary) > room:
        summary = summary[: max(room - 1, 0)] + "…"
    return f"{summary}\n\n{tail}" if summary else tail
