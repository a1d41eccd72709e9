"""Jira's capabilities beyond the PsaConnector protocol (connectors/psa/capabilities.py), which
services reach through the registry by the kind's name, never by importing this package."""

from __future__ import annotations

from ticketbridge.connectors.errors import RemoteNotFound
from ticketbridge.connectors.psa.capabilities import DeskTarget, TicketFieldLengths
from ticketbridge.connectors.psa.jira.connector import JiraConnector
from ticketbridge.connectors.psa.jira.issues import SUMMARY_LIMIT

# A desk mailbox's board is a project, which is what a Jira ticket has for a company. 30,000
# characters of text is our own cap, below what Jira keeps in a text field.
DESK_TARGET = DeskTarget(
    board_is_company=True,
    board_name="Jira project id",
    title=SUMMARY_LIMIT,
    description=30_000,
    comment=30_000,
)


def ticket_url(connector: JiraConnector, ticket_id: int) -> str | None:
    """The issue's browse page, by its key (read once when the key is not known yet)."""
    key = connector.keys.get(int(ticket_id))
    if key is None:
        try:
            key = connector.get_tickets([int(ticket_id)])[int(ticket_id)].number
        except (KeyError, RemoteNotFound):
            return None
    return f"{connector.config.base_url}/browse/{key}"


def ticket_fields(connector: JiraConnector) -> TicketFieldLengths:
    """Jira's summary limit; the description and the reference (kept as an encoded label)
    have none a ticket reaches."""
    return TicketFieldLengths(title=SUMMARY_LIMIT)
