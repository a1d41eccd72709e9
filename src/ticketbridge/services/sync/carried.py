"""Which of a ticket's fields a sync compares and carries: title, description, status and
priority always, and the person, queue and category where its entity switches are on
(contacts, teams, categories). The switches are the sync's, so both sides of an entry hash the
same fields.

An entity field an entry has no hash of was never synced as such: the entry was made before
its switch was on, or before the sync carried it at all. The first time a run reads such a
ticket, each side's value as read is taken as synced (``with_baseline``), so nothing of it is
written then: turning a switch on, or upgrading, never rewrites the people, queues and
categories of tickets copied earlier (a Jira copy made through the API names the API user as
its reporter, which would otherwise overwrite the Autotask contact, or conflict with it). A
change made after that read is carried like any other.

A field a copy made without its read-back does not hold as its PSA does (``RemoteTicket.unread``:
Jira's first status, Autotask's status and queue its workflow rules may set) is hashed
``UNREAD`` and taken as synced the same way at the copy's first read: the value the PSA chose
is never sent back as a change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ticketbridge.connectors.psa.base import RemoteTicket
from ticketbridge.core.sync.content_hash import UNREAD, field_hashes
from ticketbridge.core.sync.field_mapping import (
    CATEGORY,
    DESCRIPTION,
    ENTITY_FIELDS,
    PERSON,
    PRIORITY,
    QUEUE,
    STATUS,
    TICKET_FIELDS,
    TITLE,
    TicketFields,
    category_among,
)
from ticketbridge.core.sync.sides import Side

# The entity switch (``syncs.entities``) that carries each entity field.
SWITCHES = {PERSON: "contacts", QUEUE: "teams", CATEGORY: "categories"}
# The RemoteTicket attribute each field is read from, as RemoteTicket.unread names it.
ATTRIBUTES = {
    TITLE: "title",
    DESCRIPTION: "description",
    STATUS: "status_id",
    PRIORITY: "priority_id",
    PERSON: "contact_email",
    QUEUE: "queue_id",
    CATEGORY: "categories",
}


@dataclass(frozen=True)
class Carried:
    names: tuple[str, ...] = TICKET_FIELDS
    # Per side, the categories the sync's tables name there: a Jira label among them is the
    # issue's category, any other label a tag.
    known_categories: Mapping[Side, frozenset[str]] = field(default_factory=dict)

    def fields_of(self, ticket: RemoteTicket, side: Side) -> TicketFields:
        """The fields a RemoteTicket carries, status, priority and queue as the PSA's ids."""
        return TicketFields(
            title=ticket.title,
            description=ticket.description,
            status=_text(ticket.status_id),
            priority=_text(ticket.priority_id),
            person=ticket.contact_email.casefold() if ticket.contact_email else None,
            queue=_text(ticket.queue_id),
            category=category_among(
                ticket.categories, self.known_categories.get(side, frozenset())
            ),
        )

    def hashes_of(self, ticket: RemoteTicket, side: Side) -> dict[str, str]:
        """``UNREAD`` for a field the ticket does not hold as its PSA does (a copy made
        without its read-back: what the PSA chose itself, such as Jira's first status)."""
        hashes = field_hashes(self.fields_of(ticket, side).as_dict(), self.names)
        return hashes | {n: UNREAD for n in self.names if ATTRIBUTES[n] in ticket.unread}

    def with_baseline(self, synced: Mapping[str, str], now: Mapping[str, str]) -> dict[str, str]:
        """``synced`` with each carried entity field it has no hash of, and each field hashed
        ``UNREAD``, taken as ``now``."""
        missing = {
            n: now[n]
            for n in self.names
            if (n in ENTITY_FIELDS and n not in synced) or synced.get(n) == UNREAD
        }
        return {**synced, **missing}


def carried(entities: Mapping[str, Any] | None, mapping: Mapping[str, Any] | None) -> Carried:
    """What a sync with these entity switches and mapping tables carries."""
    on = entities or {}
    names = TICKET_FIELDS + tuple(n for n in ENTITY_FIELDS if on.get(SWITCHES[n]))
    known: dict[Side, set[str]] = {Side.A: set(), Side.B: set()}
    for direction, source in (("a_to_b", Side.A), ("b_to_a", Side.B)):
        table = ((mapping or {}).get(direction) or {}).get("categories") or {}
        rows = table.get("rows") or {}
        known[source] |= {str(k) for k in rows}
        known[source.other] |= {str(v) for v in rows.values()}
        if table.get("default") is not None:
            known[source.other].add(str(table["default"]))
    return Carried(names, {side: frozenset(found) for side, found in known.items()})


def _text(value: int | None) -> str | None:
    return None if value is None else str(value)
