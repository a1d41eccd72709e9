"""Field by field, which side's change a mapped ticket takes (issue 14, item 7).

For each mapped field, each side's current value is compared with the field hash it had when
the ticket was last synced. A field changed on one side only goes to the other side. A field
changed on both sides is a conflict: the side whose ticket the PSA reports as modified later
wins (the PSAs' own modification times, never ours), at equal times the side the ticket was
first made on; the losing value is returned as a conflict record for the conflict log, so
nothing an operator typed disappears without a trace. Two changes that already agree, and a
change the other side already holds, write nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from ticketbridge.core.sync.content_hash import FieldValue, field_hashes, normalize
from ticketbridge.core.sync.field_mapping import (
    TICKET_FIELDS,
    DirectionMapping,
    MapOutcome,
    MappedFields,
    TicketFields,
    map_fields,
    map_value,
)
from ticketbridge.core.sync.sides import Side


@dataclass(frozen=True)
class TicketVersion:
    """One side's ticket as read now, with the PSA's own modification time."""

    fields: TicketFields
    modified_at: datetime


@dataclass(frozen=True)
class Conflict:
    """A field both sides changed since the last sync; ``loser_value`` was not kept."""

    field: str
    winner: Side
    winner_value: FieldValue
    loser_value: FieldValue
    winner_modified_at: datetime
    loser_modified_at: datetime


@dataclass(frozen=True)
class FieldPlan:
    to_a: MappedFields
    to_b: MappedFields
    conflicts: tuple[Conflict, ...] = ()

    @property
    def writes_nothing(self) -> bool:
        return not (self.to_a.values or self.to_b.values)


def changed_fields(
    fields: TicketFields, synced: Mapping[str, str], names: tuple[str, ...] = TICKET_FIELDS
) -> set[str]:
    """The fields of ``names`` whose value differs from the one last synced on this side."""
    now = field_hashes(fields.as_dict(), names)
    return {name for name in names if now[name] != synced.get(name)}


def resolve(
    a: TicketVersion,
    b: TicketVersion,
    *,
    synced_a: Mapping[str, str],
    synced_b: Mapping[str, str],
    a_to_b: DirectionMapping,
    b_to_a: DirectionMapping,
    origin: Side,
    names: tuple[str, ...] = TICKET_FIELDS,
) -> FieldPlan:
    """What to write on each side of a mapped ticket; ``synced_*`` are the field hashes of the
    reference-map entry, ``origin`` the side the ticket was first made on, ``names`` the fields
    the sync carries (the entity fields only where its switches are on)."""
    changed = {
        Side.A: changed_fields(a.fields, synced_a, names),
        Side.B: changed_fields(b.fields, synced_b, names),
    }
    later = _later(a.modified_at, b.modified_at, origin)
    versions = {Side.A: a, Side.B: b}
    mappings = {Side.A: a_to_b, Side.B: b_to_a}
    sends: dict[Side, list[str]] = {Side.A: [], Side.B: []}
    conflicts: list[Conflict] = []
    for name in names:
        if name in changed[Side.A] and name in changed[Side.B]:
            winner = later
        elif name in changed[Side.A]:
            winner = Side.A
        elif name in changed[Side.B]:
            winner = Side.B
        else:
            continue
        source, target = versions[winner], versions[winner.other]
        if _holds(target.fields, name, source.fields, mappings[winner]):
            continue
        sends[winner].append(name)
        if name in changed[winner.other]:
            conflicts.append(
                Conflict(
                    field=name,
                    winner=winner,
                    winner_value=source.fields.as_dict()[name],
                    loser_value=target.fields.as_dict()[name],
                    winner_modified_at=source.modified_at,
                    loser_modified_at=target.modified_at,
                )
            )
    return FieldPlan(
        to_a=map_fields(b.fields, b_to_a, tuple(sends[Side.B])),
        to_b=map_fields(a.fields, a_to_b, tuple(sends[Side.A])),
        conflicts=tuple(conflicts),
    )


def _later(a_modified: datetime, b_modified: datetime, origin: Side) -> Side:
    if a_modified == b_modified:
        return origin
    return Side.A if a_modified > b_modified else Side.B


def _holds(
    target: TicketFields, name: str, source: TicketFields, mapping: DirectionMapping
) -> bool:
    """Whether the target already holds what the source's value maps to."""
    mapped = map_value(name, source.as_dict()[name], mapping)
    if mapped.outcome is MapOutcome.UNMAPPED:
        return False
    return normalize(mapped.value) == normalize(target.as_dict()[name])
