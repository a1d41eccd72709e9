"""Entity and field definitions: what entityInformation/fields reports and writes obey."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class FieldDef:
    name: str
    data_type: str  # integer | long | string | boolean | datetime | decimal | double
    length: int = 0
    required: bool = False
    read_only: bool = False
    queryable: bool = True
    reference: str = ""  # referenced entity type, e.g. "Company"
    picklist: bool = False
    parent_field: str = ""
    webhook: bool = False


@dataclass(frozen=True, slots=True)
class ChildRoute:
    """``/{Parent}/{parentId}/{segment}`` maps to ``entity`` with ``parent_field`` set."""

    parent: str
    segment: str
    entity: str
    parent_field: str


@dataclass(slots=True)
class EntityDef:
    name: str  # URL name, plural: "Tickets"
    fields: tuple[FieldDef, ...]
    can_create: bool = True
    can_update: bool = True
    can_delete: bool = False
    can_query: bool = True
    has_udfs: bool = False
    webhooks: bool = False
    # Entities written only through a parent route (TicketNotes, Contacts, ...).
    child_only_writes: bool = False
    # Fields left out of query results and lists (attachment bytes).
    heavy: tuple[str, ...] = ()
    by_lower: dict[str, FieldDef] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_lower = {f.name.lower(): f for f in self.fields}

    def field(self, name: str) -> FieldDef | None:
        return self.by_lower.get(name.lower())


def F(name: str, data_type: str = "integer", length: int = 0, **flags: Any) -> FieldDef:
    """Short constructor so that entity tables read like the metadata they produce."""
    return FieldDef(name, data_type, length, **flags)


def ident() -> FieldDef:
    return FieldDef("id", "long", read_only=True, webhook=True)
