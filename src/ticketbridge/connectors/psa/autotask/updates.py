"""A ticket's title, description, status, priority, contact, queue and category written: the
Autotask kind's ``ticket_updates`` capability (a ``TicketUpdates``, connectors/psa/capabilities.py).

Reference §5.0 and §5.2: ``PATCH Tickets`` with the id and only the fields that change
(status and priority as picklist ids) answers ``{"itemId": N}``; a picklist id the tenant does
not have is a 500 with "Picklist value [N] does not exist for status", kept as the error's
text. Autotask reports a missing ticket on PATCH as the same generic 500, so a refused update
asks whether the ticket is still there (one more request, only then) to say RemoteNotFound.

The sync's entity fields: the queue as ``queueID``, the category as ``ticketCategory`` (an id;
anything else is refused before a request), and the person as ``contactID``: the active
contact of the ticket's company with that address (a ticket's contact must belong to its
company), found by reading the ticket's company and one Contacts query. An address no contact
of the company has leaves the contact as it was and is said in ``people.unlinked``.

Requests: the PATCH (none for an empty change) and one read of the ticket after, which is what
the sync records as synced; a person costs two more (the ticket's company, the contact).
``author_id``: one Resources query by the API user's name.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ticketbridge.connectors.errors import RemoteNotFound, RemoteRejected
from ticketbridge.connectors.psa.autotask import people
from ticketbridge.connectors.psa.autotask.connector import AutotaskConnector
from ticketbridge.connectors.psa.autotask.roundtrip import find_own_resource
from ticketbridge.connectors.psa.base import RemoteTicket, TicketPeople
from ticketbridge.connectors.psa.capabilities import RequestCount, TicketChange

# A ticket moves to another queue by its queueID.
moves_queue = True


def update_ticket(
    connector: AutotaskConnector, ticket_id: int, change: TicketChange
) -> RemoteTicket:
    ticket_id = int(ticket_id)
    body: dict[str, Any] = {"id": ticket_id}
    if change.title is not None:
        body["title"] = change.title
    if change.description is not None:
        body["description"] = change.description
    if change.status_id is not None:
        body["status"] = int(change.status_id)
    if change.priority_id is not None:
        body["priority"] = int(change.priority_id)
    if change.queue_id is not None:
        body["queueID"] = int(change.queue_id)
    if change.category is not None:
        if not change.category.isdigit():
            raise RemoteRejected(f"{change.category!r} is no Autotask ticket category id.")
        body["ticketCategory"] = int(change.category)
    said: TicketPeople | None = None
    if change.reporter is not None:
        contact = _contact(connector, ticket_id, change.reporter)
        if contact is None:
            said = TicketPeople(unlinked=((change.reporter, people.NOT_A_CONTACT),))
        else:
            body["contactID"] = contact
            said = TicketPeople(reporter=change.reporter)
    if len(body) > 1:
        try:
            connector.client.update("Tickets", body)
        except (RemoteRejected, RemoteNotFound):
            _require(connector, ticket_id)
            raise
    found = connector.get_tickets([ticket_id]).get(ticket_id)
    if found is None:
        raise RemoteNotFound(f"Autotask ticket {ticket_id} does not exist (any more).")
    return found if said is None else replace(found, people=said)


def author_id(connector: AutotaskConnector) -> str | None:
    """The API user's resource, found by its user name or e-mail (one Resources query): the
    lastActivityResourceID Autotask writes for this connector's changes."""
    found = find_own_resource(connector, None, RequestCount())
    return None if found is None else str(found)


def _contact(connector: AutotaskConnector, ticket_id: int, address: str) -> int | None:
    """The active contact of the ticket's company with this address; None for none."""
    current = connector.get_tickets([ticket_id]).get(ticket_id)
    if current is None:
        raise RemoteNotFound(f"Autotask ticket {ticket_id} does not exist (any more).")
    if current.company_id is None:
        return None
    return people.contacts(connector.client, current.company_id, [address]).get(address.casefold())


def _require(connector: AutotaskConnector, ticket_id: int) -> None:
    if not connector.get_tickets([ticket_id]):
        raise RemoteNotFound(f"Autotask ticket {ticket_id} does not exist (any more).")
