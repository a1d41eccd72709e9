"""Autotask's capabilities beyond the PsaConnector protocol (connectors/psa/capabilities.py),
which services reach through the registry by the kind's name, never by importing this package."""

from __future__ import annotations

from typing import Any

from ticketbridge.connectors.errors import ConnectorError
from ticketbridge.connectors.psa.autotask import picklists
from ticketbridge.connectors.psa.autotask.connector import AutotaskConnector
from ticketbridge.connectors.psa.autotask.zone import lookup_host
from ticketbridge.connectors.psa.capabilities import DeskTarget, TicketFieldLengths

# A desk mailbox names the company; its boards are queues. Tickets.title 255 and description
# 8,000, TicketNotes.description 32,000 characters (the entities' metadata).
DESK_TARGET = DeskTarget(
    board_is_company=False,
    board_name="Autotask queue id",
    title=255,
    description=8_000,
    comment=32_000,
)

# The ticket's page, under the zone's webUrl.
TICKET_PATH = "Autotask/AutotaskExtend/ExecuteCommand.aspx?Code=OpenTicketDetail&TicketID={id}"


def governor_key(settings: Any) -> tuple[str, str, str]:
    """The governor key of a connection, from its AutotaskConfig or stored settings (anything
    with ``environment``, ``api_host``, ``username`` and ``integration_code``).
    ConnectorConfigError when a custom environment has no host."""
    # Thread limits are per tracking identifier, the budget per database, which the lookup
    # host and the API user lead to.
    return (
        lookup_host(settings.environment, settings.api_host).lower(),
        settings.username.strip().lower(),
        settings.integration_code.strip(),
    )


def ticket_fields(connector: AutotaskConnector) -> TicketFieldLengths:
    """Ticket field lengths from the metadata (cached for a day, so no request in the usual
    case); unknown when the metadata cannot be read."""
    try:
        meta = connector.client.fields("Tickets")
    except ConnectorError:
        meta = {}
    return TicketFieldLengths(
        title=picklists.field_length(meta, "title"),
        description=picklists.field_length(meta, "description"),
        external_id=picklists.field_length(meta, "externalID"),
    )


def ticket_url(connector: AutotaskConnector, ticket_id: int) -> str | None:
    """The ticket's page in Autotask, from the zone's webUrl (cached with the zone)."""
    zone, _ = connector.client.zone()
    if not zone.web_url:
        return None
    return zone.web_url.rstrip("/") + "/" + TICKET_PATH.format(id=int(ticket_id))
