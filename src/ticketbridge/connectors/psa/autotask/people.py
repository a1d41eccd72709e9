"""A draft's reporter and watchers as Autotask contacts, and a sender's company.

Autotask knows the people of a customer as Contacts of its company (reference §5.6): a ticket
names one as its ``contactID``, and more as TicketAdditionalContacts (``POST
Tickets/{id}/AdditionalContacts`` with ``ticketID`` and ``contactID``; Autotask's REST
OpenAPI, "TicketAdditionalContactsChild"). The draft's addresses are looked up in one
``Contacts/query`` within the ticket's company (``emailAddress in [...]``, active contacts
only: ``isActive`` is an integer); Autotask compares text ignoring case, as e-mail addresses
are compared. An address that is no contact of the company is reported, never an error.

A sender's company (the kind's ``sender_company`` capability): the company of the active
contact with the sender's address (one Contacts query), else the active company whose web
address is the sender's domain or a parent of it (one Companies query). Several companies for
one address or domain decide nothing: a guess would open the ticket for the wrong customer.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from ticketbridge.connectors.psa.autotask import query
from ticketbridge.connectors.psa.autotask.client import AutotaskClient
from ticketbridge.connectors.psa.people import link_each
from ticketbridge.connectors.psa.values import opt_int

CONTACT_FIELDS = ("id", "companyID", "emailAddress", "isActive")
NOT_A_CONTACT = "no active contact of the ticket's company has this address"


def contacts(client: AutotaskClient, company_id: int, addresses: Iterable[str]) -> dict[str, int]:
    """Contact ids of the company by address (lower case); one query, none without addresses."""
    wanted = list(dict.fromkeys(a.casefold() for a in addresses if a))
    if not wanted:
        return {}
    found: dict[str, int] = {}
    for batch in _chunks(wanted):
        items = client.query_all(
            "Contacts",
            [query.eq("companyID", int(company_id)), query.in_("emailAddress", batch)],
            include_fields=CONTACT_FIELDS,
        )
        for item in sorted(_active(items), key=lambda i: int(i["id"])):
            found.setdefault(str(item.get("emailAddress") or "").casefold(), int(item["id"]))
    return found


def addresses(client: AutotaskClient, contact_ids: Iterable[int]) -> dict[int, str]:
    """Contact id -> e-mail address of the contacts that have one: one ``id in [...]`` query
    per 500 ids (a page of tickets' contacts), none without ids."""
    wanted = sorted(set(contact_ids))
    if not wanted:
        return {}
    found = client.query_by_ids("Contacts", wanted, include_fields=("id", "emailAddress"))
    return {int(i["id"]): str(i["emailAddress"]) for i in found if i.get("emailAddress")}


def add_contacts(
    client: AutotaskClient, ticket_id: int, watchers: Iterable[str], known: dict[str, int]
) -> tuple[list[str], list[tuple[str, str]]]:
    """Each watcher that is a contact made an additional contact of the ticket."""

    def add(contact_id: int) -> object:
        body = {"ticketID": int(ticket_id), "contactID": contact_id}
        return client.create(f"Tickets/{int(ticket_id)}/AdditionalContacts", body)

    return link_each(watchers, lambda a: known.get(a.casefold()), add, unknown=NOT_A_CONTACT)


# --- the sender's company (the kind's ``sender_company`` capability) -------------------


def by_contact(connector: Any, address: str) -> int | None:
    """The company of the active contact with this address; None for none or several."""
    items = connector.client.query_all(
        "Contacts", [query.eq("emailAddress", address)], include_fields=CONTACT_FIELDS
    )
    exact = [i for i in _active(items) if str(i.get("emailAddress") or "").casefold() == address]
    return _one({opt_int(i.get("companyID")) for i in exact})


def by_domain(connector: Any, domain: str) -> int | None:
    """The active company whose web address is ``domain`` or a parent of it (``contoso.com``
    for mail from ``eu.contoso.com``); None for none or several."""
    domain = domain.casefold().strip(".")
    labels = domain.split(".")
    if len(labels) < 2:
        return None
    items = connector.client.query_all(
        "Companies",
        [query.contains("webAddress", ".".join(labels[-2:])), query.eq("isActive", True)],
        include_fields=("id", "webAddress", "isActive"),
    )
    matching = set()
    for item in items:
        host = web_host(str(item.get("webAddress") or ""))
        if host and (domain == host or domain.endswith("." + host)):
            matching.add(opt_int(item.get("id")))
    return _one(matching)


def web_host(web_address: str) -> str:
    """``https://www.Contoso.com/about`` -> ``contoso.com``."""
    text = web_address.strip()
    if not text:
        return ""
    host = urlsplit(text if "//" in text else f"//{text}").hostname or ""
    host = host.casefold().strip(".")
    return host[4:] if host.startswith("www.") else host


def _one(ids: set[int | None]) -> int | None:
    ids.discard(None)
    return next(iter(ids)) if len(ids) == 1 else None


def _active(items: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [i for i in items if opt_int(i.get("id")) is not None and i.get("isActive") in (1, True)]


def _chunks(values: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(values), query.MAX_OR_CONDITIONS):
        yield values[start : start + query.MAX_OR_CONDITIONS]
