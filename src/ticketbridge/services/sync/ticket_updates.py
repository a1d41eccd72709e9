"""A mapped ticket changed since it was last synced, brought to agreement on both sides
(issue 14, items 1 and 7), through the kinds' ``ticket_updates`` capability.

``conflicts.resolve`` says, field by field, what goes where: a field changed on one side goes to
the other, a field changed on both is taken from the ticket the PSA modified later (the loser
is logged by the caller). Status and priority go through the direction's mapping table; a value
with no row and no default is not written and is reported, and its side keeps the hash last
synced for that field, so the change is still pending when the table gets its row. When
nothing at all can be written the ticket fails (recorded, retried with backoff).

What is recorded as synced afterwards, per side: for a field written there, the value as the
PSA holds it after the write (read back, so a PSA that trims or rewrites it is no change next
time); for every other field, the value as read before the write, so a change made by someone
else between the read and the write is still seen as a change by the next run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from ticketbridge.connectors import registry
from ticketbridge.connectors.errors import ConnectorError
from ticketbridge.connectors.psa.base import PsaConnector, RemoteTicket
from ticketbridge.connectors.psa.capabilities import TicketChange
from ticketbridge.core.sync import field_mapping
from ticketbridge.core.sync.conflicts import FieldPlan
from ticketbridge.core.sync.content_hash import field_hashes
from ticketbridge.core.sync.sides import Direction, Side, SyncIdentities


class NothingWritable(Exception):
    """Every change of the ticket has a value its mapping table cannot carry."""


def fields_of(ticket: RemoteTicket) -> field_mapping.TicketFields:
    """The mapped fields a RemoteTicket carries, status and priority as the PSA's ids."""
    return field_mapping.TicketFields(
        title=ticket.title,
        description=ticket.description,
        status=None if ticket.status_id is None else str(ticket.status_id),
        priority=None if ticket.priority_id is None else str(ticket.priority_id),
    )


def hashes_of(ticket: RemoteTicket) -> dict[str, str]:
    return field_hashes(fields_of(ticket).as_dict(), field_mapping.TICKET_FIELDS)


@dataclass(frozen=True)
class UpdateOutcome:
    """What each side holds as synced now, and the values that could not be carried."""

    hashes: dict[Side, dict[str, str]]
    wrote: bool
    # (the direction the value would have gone, field, value)
    unmapped: tuple[tuple[Direction, str, str], ...]


def unmapped_of(plan: FieldPlan) -> tuple[tuple[Direction, str, str], ...]:
    found = [(Direction.A_TO_B, u.field, u.value) for u in plan.to_b.unmapped]
    found += [(Direction.B_TO_A, u.field, u.value) for u in plan.to_a.unmapped]
    return tuple(found)


def unmapped_message(direction: Direction, name: str, value: str) -> str:
    return (
        f"{name} {value} has no row and no default in the {direction.value} {name} table: "
        f"not written on side {direction.target.upper()}"
    )


def apply(
    plan: FieldPlan,
    tickets: Mapping[Side, RemoteTicket],
    connectors: Mapping[Side, PsaConnector],
    synced: Mapping[Side, Mapping[str, str]],
) -> UpdateOutcome:
    """Write ``plan`` onto the sides it names and say what each side now holds as synced.
    ``synced`` are the entry's field hashes as last synced, per side."""
    writes = {Side.A: plan.to_a.values, Side.B: plan.to_b.values}
    unmapped = unmapped_of(plan)
    if not any(writes.values()) and unmapped:
        raise NothingWritable(
            "; ".join(unmapped_message(d, name, value) for d, name, value in unmapped)
        )
    hashes = {side: hashes_of(ticket) for side, ticket in tickets.items()}
    for side, values in writes.items():
        if not values:
            continue
        after = write(connectors[side], tickets[side].id, values)
        written = hashes_of(after)
        hashes[side].update({name: written[name] for name in values})
    for direction, name, _ in unmapped:
        # The value stays pending on the side it came from.
        previous = synced[direction.source].get(name)
        if previous is not None:
            hashes[direction.source][name] = previous
    return UpdateOutcome(hashes, any(writes.values()), unmapped)


def write(connector: PsaConnector, ticket_id: int, values: Mapping[str, str]) -> RemoteTicket:
    """One ticket's mapped values written through its kind's capability; read back."""
    change = TicketChange(
        title=values.get(field_mapping.TITLE),
        description=values.get(field_mapping.DESCRIPTION),
        status_id=_id(values, field_mapping.STATUS),
        priority_id=_id(values, field_mapping.PRIORITY),
    )
    return registry.ticket_updates(connector.kind).update_ticket(connector, ticket_id, change)


def _id(values: Mapping[str, str], name: str) -> int | None:
    value = values.get(name)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise NothingWritable(f"the mapped {name} {value!r} is not an id the PSA takes") from None


def author_of(ticket: RemoteTicket, last_synced: datetime | None) -> frozenset[str]:
    """Who the PSA says changed a mapped ticket, when that can be the sync's own write coming
    back. A change made after the sync last wrote the ticket is someone's new change even under
    the sync's account (ticketbridge closing an alert's ticket through the same connection), so
    then no author is given; nor for a ticket without an entry (``last_synced`` None): one the
    same account made outside the sync is still copied."""
    if last_synced is None or ticket.changed_by is None or ticket.last_activity is None:
        return frozenset()
    if ticket.last_activity > last_synced:
        return frozenset()
    return frozenset({ticket.changed_by})


def own_identities(connector: PsaConnector, side: Side) -> SyncIdentities:
    """The sync's identity on ``side``: who the PSA names for this connection's writes
    (Autotask: the API user's resource); none when its kind cannot say or the PSA fails to."""
    try:
        found = registry.ticket_updates(connector.kind).author_id(connector)
    except ConnectorError:
        found = None  # unknown: no change is taken for the sync's own
    mine = frozenset({found}) if found else frozenset()
    return SyncIdentities(a=mine) if side is Side.A else SyncIdentities(b=mine)
