"""Ticket fields from one side to the other (issue 14, items 1 and 7).

Title and description are carried as text, cut to the target's lengths (a title on one line).
Status and priority go through a mapping table per direction: a value listed in the table maps
to its row, a value not listed takes the table's default when it has one, and otherwise it is
unmapped: the field is left out of the write and the value is reported, never guessed.
Values are the PSA's own ids as text (Autotask picklist values, Jira status and priority ids).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from ticketbridge.core.plain_text import cap, one_line
from ticketbridge.core.sync.content_hash import FieldValue, normalize

TITLE = "title"
DESCRIPTION = "description"
STATUS = "status"
PRIORITY = "priority"
TICKET_FIELDS = (TITLE, DESCRIPTION, STATUS, PRIORITY)


class MapOutcome(StrEnum):
    MAPPED = "mapped"
    DEFAULTED = "defaulted"
    UNMAPPED = "unmapped"


@dataclass(frozen=True)
class MappedValue:
    outcome: MapOutcome
    value: str | None


@dataclass(frozen=True)
class ValueMap:
    """One direction of a mapping table: source value -> target value, and a default."""

    rows: Mapping[str, str] = field(default_factory=dict)
    default: str | None = None

    def map(self, value: str) -> MappedValue:
        if value in self.rows:
            return MappedValue(MapOutcome.MAPPED, self.rows[value])
        if self.default is not None:
            return MappedValue(MapOutcome.DEFAULTED, self.default)
        return MappedValue(MapOutcome.UNMAPPED, None)


@dataclass(frozen=True)
class DirectionMapping:
    """How ticket fields go in one direction, with the target's text lengths."""

    status: ValueMap = ValueMap()
    priority: ValueMap = ValueMap()
    title_max_length: int = 255
    description_max_length: int = 8000


@dataclass(frozen=True)
class TicketFields:
    title: str
    description: str = ""
    status: str | None = None
    priority: str | None = None

    def as_dict(self) -> dict[str, FieldValue]:
        return {
            TITLE: self.title,
            DESCRIPTION: self.description,
            STATUS: self.status,
            PRIORITY: self.priority,
        }


@dataclass(frozen=True)
class Unmapped:
    """A value the mapping table has no row and no default for: reported, not written."""

    field: str
    value: str


@dataclass(frozen=True)
class MappedFields:
    """What to write on the target. A field absent from ``values`` is left as the target has
    it (or to the PSA's default on a create)."""

    values: Mapping[str, str]
    unmapped: tuple[Unmapped, ...] = ()


def map_value(name: str, value: FieldValue, mapping: DirectionMapping) -> MappedValue:
    """One field's value in the target's terms."""
    if name == TITLE:
        text = one_line(str(value or ""))
        return MappedValue(MapOutcome.MAPPED, cap(text, mapping.title_max_length))
    if name == DESCRIPTION:
        text = str(normalize(str(value or "")))
        return MappedValue(MapOutcome.MAPPED, cap(text, mapping.description_max_length))
    if name in (STATUS, PRIORITY):
        if value is None:
            return MappedValue(MapOutcome.MAPPED, None)
        table = mapping.status if name == STATUS else mapping.priority
        return table.map(str(value))
    raise ValueError(f"not a ticket field the sync maps: {name!r}")


def map_fields(
    fields: TicketFields, mapping: DirectionMapping, only: tuple[str, ...] = TICKET_FIELDS
) -> MappedFields:
    """The fields named in ``only`` in the target's terms; a None (no status, no priority) is
    not written."""
    values: dict[str, str] = {}
    unmapped: list[Unmapped] = []
    source = fields.as_dict()
    for name in only:
        mapped = map_value(name, source[name], mapping)
        if mapped.outcome is MapOutcome.UNMAPPED:
            unmapped.append(Unmapped(name, str(source[name])))
        elif mapped.value is not None:
            values[name] = mapped.value
    return MappedFields(values, tuple(unmapped))


def with_values(fields: TicketFields, values: Mapping[str, str]) -> TicketFields:
    """``fields`` with ``values`` written over them: the target as it will be after a write."""
    return replace(fields, **{name: values[name] for name in TICKET_FIELDS if name in values})
