"""The copy a sync run makes of a ticket new to the other side: its company through the sync's
tables, its mapped fields, the target's defaults for the rest, the sync's marker as its
external id, and the entities the sync's switches carry."""

from __future__ import annotations

from ticketbridge.connectors.psa.base import RemoteTicket, TicketDraft
from ticketbridge.core.sync import field_mapping
from ticketbridge.core.sync.sides import Side
from ticketbridge.core.ticket_fields import TicketDefaults
from ticketbridge.services.sync.config import DirectionConfig, marker
from ticketbridge.services.sync.ticket_updates import fields_of


class ItemRefused(Exception):
    """This ticket cannot be synced as configured (no company on the other side): recorded as
    the item's failure and retried, so fixing the sync's tables brings it across."""


def copy_draft(
    config: DirectionConfig,
    sync_id: int,
    source: Side,
    defaults: TicketDefaults,
    ticket: RemoteTicket,
) -> TicketDraft:
    """The draft of ``ticket``'s copy on the direction's target; ItemRefused without a company
    there."""
    company = config.target_company(ticket.company_id)
    if company is None:
        raise ItemRefused(
            f"no company on side {config.direction.target.upper()} for company "
            f"{ticket.company_id}: map it in the sync or map its customer in both connections"
        )
    values = field_mapping.map_fields(fields_of(ticket), config.fields).values
    status, priority = values.get(field_mapping.STATUS), values.get(field_mapping.PRIORITY)
    draft = TicketDraft(
        company_id=company,
        title=values.get(field_mapping.TITLE, ticket.title),
        description=values.get(field_mapping.DESCRIPTION, ""),
        queue_id=config.target_queue(ticket.queue_id) or defaults.queue_id,
        source_id=defaults.source_id,
        status_id=int(status) if status is not None else defaults.status_id,
        priority_id=int(priority) if priority is not None else defaults.priority_warning_id,
        external_id=marker(sync_id, source, str(ticket.id)),
    )
    return config.with_entities(draft, ticket)
