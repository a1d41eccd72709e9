"""A mapped ticket changed since it was last synced, brought to agreement on both sides
(issue 14, items 1 and 7), through the kinds' ``ticket_updates`` capability.

``conflicts.resolve`` says, field by field, what goes where: a field changed on one side goes to
the other, a field changed on both is taken from the ticket the PSA modified later (the loser
is logged by the caller). Status and priority go through the direction's mapping table; a value
with no row and no default is not written and is reported, and its side keeps the hash last
synced for that field, so the change is still pending when the table gets its row. When
nothing at all can be written the ticket fails (recorded, retried with backoff).

The entity fields the sync's switches carry (services/sync/carried.py) go the same way; what
does not fail the ticket is said for the run's errors: a person the target does not know or
refuses (``unlinked``, the target keeps its own), and a queue toward a kind that does not move
tickets between queues (``not carried``, never asked of it).

What is recorded as synced afterwards, per side: for a field written there, the value as the
PSA holds it after the write (read back, so a PSA that trims or rewrites it is no change next
time); for every other field, the value as read before the write, so a change made by someone
else between the read and the write is still seen as a change by the next run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ticketbridge.connectors import registry
from ticketbridge.connectors.errors import ConnectorError
from ticketbridge.connectors.psa.base import PsaConnector, RemoteTicket
from ticketbridge.connectors.psa.capabilities import TicketChange
from ticketbridge.core.sync import field_mapping
from ticketbridge.core.sync.conflicts import FieldPlan
from ticketbridge.core.sync.sides import Direction, Side, SyncIdentities
from ticketbridge.services.connections import named
from ticketbridge.services.sync.carried import Carried
from ticketbridge.storage.models.roundtrip import WebhookRegistration


class NothingWritable(Exception):
    """Every change of the ticket has a value its mapping table cannot carry."""


def fields_of(ticket: RemoteTicket) -> field_mapping.TicketFields:
    """The fields every sync carries, status and priority as the PSA's ids (a new copy's)."""
    return Carried().fields_of(ticket, Side.A)


@dataclass(frozen=True)
class UpdateOutcome:
    """What each side holds as synced now, and the values that could not be carried."""

    hashes: dict[Side, dict[str, str]]
    wrote: bool
    # (the direction the value would have gone, field, value)
    unmapped: tuple[tuple[Direction, str, str], ...]
    # Left unwritten without failing the ticket, for the run's errors: (result, message).
    said: tuple[tuple[str, str], ...] = ()


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
    carried: Carried | None = None,
) -> UpdateOutcome:
    """Write ``plan`` onto the sides it names and say what each side now holds as synced.
    ``synced`` are the entry's field hashes as last synced, per side; ``carried`` the fields
    the sync carries (the four always carried when not given)."""
    carried = carried or Carried()
    writes = {Side.A: dict(plan.to_a.values), Side.B: dict(plan.to_b.values)}
    said: list[tuple[str, str]] = []
    for side, values in writes.items():
        queue = values.get(field_mapping.QUEUE)
        if queue is not None and not registry.ticket_updates(connectors[side].kind).moves_queue:
            # The source keeps the new queue as synced: asking again would never succeed.
            del values[field_mapping.QUEUE]
            said.append(("not carried", _unmovable(connectors[side], side, queue)))
    unmapped = unmapped_of(plan)
    if not any(writes.values()) and unmapped:
        raise NothingWritable(
            "; ".join(unmapped_message(d, name, value) for d, name, value in unmapped)
        )
    hashes = {side: carried.hashes_of(ticket, side) for side, ticket in tickets.items()}
    for side, values in writes.items():
        if not values:
            continue
        replaced = tuple(carried.known_categories.get(side, ()))
        after = write(connectors[side], tickets[side].id, values, replaced)
        # A person the PSA did not take reads back as before: the target keeps its own.
        written = carried.hashes_of(after, side)
        hashes[side].update({name: written[name] for name in values})
        for address, why in after.people.unlinked if after.people else ():
            said.append(("unlinked", f"{address}: {why} (side {side.upper()})"))
    for direction, name, _ in unmapped:
        # The value stays pending on the side it came from.
        previous = synced[direction.source].get(name)
        if previous is not None:
            hashes[direction.source][name] = previous
    return UpdateOutcome(hashes, any(writes.values()), unmapped, tuple(said))


def write(
    connector: PsaConnector,
    ticket_id: int,
    values: Mapping[str, str],
    replaced_categories: tuple[str, ...] = (),
) -> RemoteTicket:
    """One ticket's mapped values written through its kind's capability; read back.
    ``replaced_categories``: the categories the sync's tables name on this side, taken off
    where a ticket holds several (Jira labels) when the category changes."""
    change = TicketChange(
        title=values.get(field_mapping.TITLE),
        description=values.get(field_mapping.DESCRIPTION),
        status_id=_id(values, field_mapping.STATUS),
        priority_id=_id(values, field_mapping.PRIORITY),
        reporter=values.get(field_mapping.PERSON),
        queue_id=_id(values, field_mapping.QUEUE),
        category=values.get(field_mapping.CATEGORY),
        replaces_categories=replaced_categories if field_mapping.CATEGORY in values else (),
    )
    return registry.ticket_updates(connector.kind).update_ticket(connector, ticket_id, change)


def _unmovable(connector: PsaConnector, side: Side, queue: str) -> str:
    return (
        f"queue {queue}: a {connector.kind} ticket is not moved to another queue in place; "
        f"not written on side {side.upper()}"
    )


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
    same account made outside the sync is still copied. The change's own time is the PSA's
    where it has one (Jira's changelog entry), else the ticket's last activity."""
    changed_at = ticket.changed_at or ticket.last_activity
    if last_synced is None or ticket.changed_by is None or changed_at is None:
        return frozenset()
    if changed_at > last_synced:
        return frozenset()
    return frozenset({ticket.changed_by})


def own_identities(
    connector: PsaConnector, side: Side, known: frozenset[str] = frozenset()
) -> SyncIdentities:
    """The sync's identities on ``side``: who the PSA names for this connection's writes
    (Autotask: the API user's resource; Jira: its account), none when its kind cannot say or
    the PSA fails to, and the ``known`` ones ticketbridge holds for the connection
    (``excluded_resources``)."""
    try:
        found = registry.ticket_updates(connector.kind).author_id(connector)
    except ConnectorError:
        found = None  # unknown: no change is taken for the sync's own
    mine = (frozenset({found}) if found else frozenset()) | known
    return SyncIdentities(a=mine) if side is Side.A else SyncIdentities(b=mine)


def excluded_resources(factory: sessionmaker[Session], connection_id: int | None) -> frozenset[str]:
    """The resources the round trip's ticket webhooks exclude, when ``connection_id`` is the
    round trip's connection: an operator may exclude an integration resource other than the
    API user's, whose changes are then ticketbridge's own too (a removed webhook's no more)."""
    if connection_id is None:
        return frozenset()
    with factory() as session:
        roundtrip = named.with_capability(session, "roundtrip")
        if roundtrip is None or roundtrip.id != connection_id:
            return frozenset()
        found = session.scalars(
            select(WebhookRegistration.excluded_resource_id).where(
                WebhookRegistration.excluded_resource_id.is_not(None),
                WebhookRegistration.state != "removed",
            )
        )
        return frozenset(str(resource) for resource in found)
