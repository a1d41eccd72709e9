"""Generic create / update / render for every entity, driven by the field metadata.

Entity-specific rules (ticket numbers, activity dates, time entry checks...) live in
:mod:`rules` and run around these generic steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .entities import REFERENCE_TABLES
from .errors import app_error
from .schema import EntityDef, FieldDef
from .store import Row, Store
from .values import coerce, coerce_udf

NULL_BODY_TEXT = "Object reference not set to an instance of an object."


@dataclass
class WriteContext:
    store: Store
    now: str
    resource_id: int
    impersonator_id: int | None = None
    # (entity, action, row, changed field names) collected for webhooks and callouts
    events: list[tuple[str, str, Row, set[str]]] = field(default_factory=list)

    @property
    def acting_resource(self) -> int:
        return self.impersonator_id if self.impersonator_id is not None else self.resource_id


def lower_body(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise app_error(NULL_BODY_TEXT)
    return {str(k).lower(): v for k, v in body.items()}


def _check_picklist(store: Store, entity: EntityDef, fdef: FieldDef, value: Any) -> None:
    values = store.picklist(entity.name, fdef.name)
    if not any(v["value"] == str(value) and v.get("isActive", True) for v in values):
        raise app_error(f"Picklist value [{value}] does not exist for {fdef.name}")


def _check_reference(store: Store, fdef: FieldDef, value: Any) -> None:
    table = REFERENCE_TABLES.get(fdef.reference)
    if table is None or value is None:
        return
    if store.get(table, int(value)) is None:
        raise app_error(f"Value does not reference an existing entity for {fdef.name} . ")


def _check_length(fdef: FieldDef, value: Any) -> None:
    if fdef.data_type == "string" and isinstance(value, str) and 0 < fdef.length < len(value):
        raise app_error(
            f"The value for field {fdef.name} exceeds the maximum length of {fdef.length}."
        )


def _apply_udfs(store: Store, entity: EntityDef, row: Row, raw: Any) -> set[str]:
    if raw is None:
        return set()
    if not isinstance(raw, list):
        raise app_error("userDefinedFields must be an array of name/value pairs.")
    defs = {u["name"].lower(): u for u in store.udf_defs(entity.name)}
    current = row.setdefault("userDefinedFields", {})
    changed: set[str] = set()
    for item in raw:
        pair = lower_body(item)
        definition = defs.get(str(pair.get("name", "")).lower())
        if definition is None:
            raise app_error(f"Unable to find {pair.get('name')} in the {entity.name} Entity")
        value = coerce_udf(str(definition.get("type", "string")), pair.get("value"))
        length = int(definition.get("length") or 0)
        if isinstance(value, str) and length and len(value) > length:
            raise app_error(
                f"The value for field {definition['name']} exceeds the maximum length of {length}."
            )
        if current.get(definition["name"]) != value:
            current[definition["name"]] = value
            changed.add("userDefinedFields")
    return changed


def assign_fields(
    ctx: WriteContext,
    entity: EntityDef,
    row: Row,
    body: dict[str, Any],
    *,
    creating: bool,
    replace: bool = False,
    fixed: frozenset[str] = frozenset(),
) -> set[str]:
    """Validate and copy writable fields from ``body`` (lower-cased keys) into ``row``."""
    changed: set[str] = set()
    for fdef in entity.fields:
        key = fdef.name.lower()
        if fdef.read_only or fdef.name == "id" or fdef.name in fixed:
            continue
        if key not in body:
            if replace and row.get(fdef.name) is not None:
                row[fdef.name] = None
                changed.add(fdef.name)
            continue
        raw = body[key]
        if raw is None:
            if creating:
                raise app_error(NULL_BODY_TEXT)
            value = None
        else:
            value = coerce(fdef, raw)
            _check_length(fdef, value)
        if value is not None and value != row.get(fdef.name):
            if fdef.picklist:
                _check_picklist(ctx.store, entity, fdef, value)
            if fdef.reference:
                _check_reference(ctx.store, fdef, value)
        if row.get(fdef.name) != value or (creating and fdef.name not in row):
            row[fdef.name] = value
            changed.add(fdef.name)
    if entity.has_udfs:
        changed |= _apply_udfs(ctx.store, entity, row, body.get("userdefinedfields"))
    for fdef in entity.fields:
        if fdef.required and row.get(fdef.name) is None and not fdef.read_only:
            raise app_error(f"Value does not exist for the required field {fdef.name}.")
    return changed


def new_row(entity: EntityDef) -> Row:
    row: Row = {f.name: None for f in entity.fields if f.name != "id"}
    if entity.has_udfs:
        row["userDefinedFields"] = {}
    return row


def render(
    store: Store,
    entity: EntityDef,
    row: Row,
    include: list[str] | None = None,
    *,
    heavy: bool = False,
) -> dict[str, Any]:
    if include is not None:
        names = ["id", *[n for n in include if n != "id"]]
    else:
        names = [f.name for f in entity.fields if heavy or f.name not in entity.heavy]
    out = {name: row.get(name) for name in names}
    if entity.has_udfs:
        values = row.get("userDefinedFields") or {}
        out["userDefinedFields"] = [
            {"name": u["name"], "value": values.get(u["name"])} for u in store.udf_defs(entity.name)
        ]
    else:
        out["userDefinedFields"] = []
    return out
