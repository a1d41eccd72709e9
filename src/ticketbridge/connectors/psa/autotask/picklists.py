"""Reference data from entity field metadata.

Queues, ticket sources, statuses and priorities are not entities of their own: they exist only
as the inline ``picklistValues`` of the Tickets fields ``queueID``, ``source``, ``status`` and
``priority`` (reference §3). So one ``GET Tickets/entityInformation/fields`` yields all four.
Note types and publish values are picklists of the TicketNotes fields ``noteType`` and
``publish``; that is a second resource, cached by the client across refreshes (see
docs/connector-autotask.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ticketbridge.connectors.psa.base import PicklistValue

TICKET_PICKLISTS = {
    "queues": "queueID",
    "sources": "source",
    "statuses": "status",
    "priorities": "priority",
}
NOTE_PICKLISTS = {"note_types": "noteType", "publish_values": "publish"}

Fields = Mapping[str, Mapping[str, Any]]


def index_fields(payload: Any) -> dict[str, dict[str, Any]]:
    """``{"fields": [...]}`` keyed by lower-cased field name (Autotask names are case-free)."""
    fields = payload.get("fields") if isinstance(payload, dict) else None
    if not isinstance(fields, list):
        return {}
    return {str(f["name"]).lower(): f for f in fields if isinstance(f, dict) and f.get("name")}


def picklist(fields: Fields, name: str) -> tuple[PicklistValue, ...]:
    """The values of one picklist field, ordered as Autotask orders them; inactive kept."""
    field = fields.get(name.lower())
    raw = field.get("picklistValues") if field else None
    if not isinstance(raw, list):
        return ()
    values = []
    for item in raw:
        if not isinstance(item, dict):
            continue
        try:
            value_id = int(str(item.get("value")).strip())
        except ValueError:
            # Our lists are keyed by integer ids; a non-numeric value cannot be stored as one.
            continue
        values.append(
            PicklistValue(
                id=value_id,
                name=str(item.get("label") or value_id),
                active=_flag(item.get("isActive"), default=True),
                is_default=_flag(item.get("isDefaultValue"), default=False),
                order=_int(item.get("sortOrder"), default=value_id),
            )
        )
    values.sort(key=lambda v: (v.order, v.id))
    return tuple(values)


def field_length(fields: Fields, name: str) -> int | None:
    field = fields.get(name.lower())
    length = _int(field.get("length"), default=0) if field else 0
    return length or None


def default_value(values: tuple[PicklistValue, ...]) -> PicklistValue | None:
    active = [v for v in values if v.active]
    for value in active:
        if value.is_default:
            return value
    return active[0] if active else None


def publish_value(values: tuple[PicklistValue, ...], *, internal: bool) -> int:
    """The publish id for an internal note (or one all users see).

    Autotask's values are 1 "All Autotask Users", 2 "Internal Users"/"Internal Project Team",
    4 "Internal & Co-Managed" (reference §5.3); labels are matched so a tenant that renamed
    them still gets the right kind, and the documented ids are the fallback.
    """
    active = [v for v in values if v.active]
    if internal:
        for value in active:
            label = value.name.casefold()
            if "internal" in label and "co-managed" not in label:
                return value.id
        return 2
    for value in active:
        if value.name.casefold().startswith("all"):
            return value.id
    return 1


def _flag(value: Any, *, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1")
    return bool(value)


def _int(value: Any, *, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
