"""Ticket fields from one side to the other (issue 14, items 1 and 7).

Title and description are carried as text, cut to the target's lengths (a title on one line).
Status and priority go through a mapping table per direction: a value listed in the table maps
to its row, a value not listed takes the table's default when it has one, and otherwise it is
unmapped: the field is left out of the write and the value is reported, never guessed.
Values are the PSA's own ids as text (Autotask picklist values, Jira status and priority ids).

The entity fields, carried only where the sync's switches say: the person by e-mail address
(compared without case), the queue and the category through their tables like status, except
that a value with neither a row nor a default is simply not carried (as on a new copy: a table
that names only some queues leaves the others where they are), never reported as unmapped.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

from ticketbridge.core.plain_text import cap, one_line
from ticketbridge.core.sync.content_hash import FieldValue, normalize

TITLE = "title"
DESCRIPTION = "description"
STATUS = "status"
PRIORITY = "priority"
TICKET_FIELDS = (TITLE, DESCRIPTION, STATUS, PRIORITY)
PERSON = "person"
QUEUE = "queue"
CATEGORY = "category"
ENTITY_FIELDS = (PERSON, QUEUE, CATEGORY)


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
    queue: ValueMap = ValueMap()
    category: ValueMap = ValueMap()
    title_max_length: int = 255
    description_max_length: int = 8000


@dataclass(frozen=True)
class TicketFields:
    title: str
    description: str = ""
    status: str | None = None
    priority: str | None = None
    # The entity fields: the person's address (lower case), the queue's id, the category.
    person: str | None = None
    queue: str | None = None
    category: str | None = None

    def as_dict(self) -> dict[str, FieldValue]:
        return {
            TITLE: self.title,
            DESCRIPTION: self.description,
            STATUS: self.status,
            PRIORITY: self.priority,
            PERSON: self.person,
            QUEUE: self.queue,
            CATEGORY: self.category,
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
    if name == PERSON:
        return MappedValue(MapOutcome.MAPPED, None if value is None else str(value).casefold())
    if name in (QUEUE, CATEGORY):
        if value is None:
            return MappedValue(MapOutcome.MAPPED, None)
        found = (mapping.queue if name == QUEUE else mapping.category).map(str(value))
        # Without a row or a default the target keeps its own: not carried, not an error.
        return (
            found
            if found.outcome is not MapOutcome.UNMAPPED
            else MappedValue(MapOutcome.MAPPED, None)
        )
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
    names = (*TICKET_FIELDS, *ENTITY_FIELDS)
    return replace(fields, **{name: values[name] for name in names if name in values})


def category_among(categories: Sequence[str], known: Collection[str]) -> str | None:
    """A ticket's category as the sync sees it: the first of its categories the sync's tables
    name on its side, else its first (a Jira issue's labels are tags as well as categories, so
    a label the tables know wins over one they do not); None when it has none."""
    return next((c for c in categories if c in known), None) or next(iter(categories), None)
