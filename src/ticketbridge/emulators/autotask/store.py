"""Tenant state: rows per entity, picklists, UDF definitions and counters.

Rows are plain dicts keyed by the API's camelCase names; datetimes are kept in the canonical
wire form (see :mod:`dates`) so that state is JSON as-is and string order is time order.
``userDefinedFields`` is kept as a name -> value dict and rendered as the API's array.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from .entities import ENTITIES

Row = dict[str, Any]

ID_STARTS = {
    "tickets": 7001,
    "ticketnotes": 30001,
    "timeentries": 50001,
    "companies": 101,
    "contacts": 2001,
    "configurationitems": 4001,
    "ticketattachments": 60001,
    "ticketadditionalcontacts": 80001,
    "resources": 29,
    "roles": 29683400,
    "ticketwebhooks": 1,
    "ticketwebhookfields": 1,
    "ticketwebhookexcludedresources": 1,
}


@dataclass
class Store:
    tables: dict[str, dict[int, Row]] = field(default_factory=dict)
    next_ids: dict[str, int] = field(default_factory=dict)
    # entity (lower) -> field name -> list of PickListValue dicts
    picklists: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)
    # entity (lower) -> list of UDF definitions (the API's ``Field`` shape)
    udfs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    ticket_days: dict[str, int] = field(default_factory=dict)
    # resource id -> role ids the resource may work as
    resource_roles: dict[str, list[int]] = field(default_factory=dict)
    callouts: list[dict[str, Any]] = field(default_factory=list)
    tenant: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ENTITIES:
            self.tables.setdefault(name, {})
            self.next_ids.setdefault(name, ID_STARTS.get(name, 1))

    def table(self, entity: str) -> dict[int, Row]:
        return self.tables[entity.lower()]

    def get(self, entity: str, row_id: int) -> Row | None:
        return self.tables[entity.lower()].get(row_id)

    def insert(self, entity: str, row: Row, row_id: int | None = None) -> Row:
        key = entity.lower()
        if row_id is None:
            row_id = self.next_ids[key]
        self.next_ids[key] = max(self.next_ids[key], row_id + 1)
        row["id"] = row_id
        self.tables[key][row_id] = row
        return row

    def delete(self, entity: str, row_id: int) -> Row | None:
        return self.tables[entity.lower()].pop(row_id, None)

    def udf_defs(self, entity: str) -> list[dict[str, Any]]:
        """The user-defined field definitions of ``entity`` (none: an empty list)."""
        return self.udfs.get(entity.lower(), [])

    def picklist(self, entity: str, field_name: str) -> list[dict[str, Any]]:
        return self.picklists.get(entity.lower(), {}).get(field_name, [])

    def picklist_label(self, entity: str, field_name: str, value: Any) -> str | None:
        for item in self.picklist(entity, field_name):
            if item["value"] == str(value):
                return str(item["label"])
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            "version": 1,
            "tables": {name: list(rows.values()) for name, rows in self.tables.items()},
            "next_ids": dict(self.next_ids),
            "picklists": copy.deepcopy(self.picklists),
            "udfs": copy.deepcopy(self.udfs),
            "ticket_days": dict(self.ticket_days),
            "resource_roles": copy.deepcopy(self.resource_roles),
            "callouts": copy.deepcopy(self.callouts),
            "tenant": copy.deepcopy(self.tenant),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Store:
        data = copy.deepcopy(data)
        store = cls(
            next_ids=data.get("next_ids", {}),
            picklists=data.get("picklists", {}),
            udfs=data.get("udfs", {}),
            ticket_days=data.get("ticket_days", {}),
            resource_roles=data.get("resource_roles", {}),
            callouts=data.get("callouts", []),
            tenant=data.get("tenant", {}),
        )
        for name, rows in data.get("tables", {}).items():
            store.tables[name] = {int(r["id"]): r for r in rows}
        return store
