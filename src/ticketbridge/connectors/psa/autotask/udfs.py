"""User-defined fields and configuration items as Autotask sends them (RMM alerts, docs/alerts.md).

UDFs come with every item as an array of ``{"name", "value"}`` pairs, whatever
``includeFields`` asks for (reference §4.3); names compare ignoring case, as Autotask does.
"""

from __future__ import annotations

from typing import Any

from ticketbridge.connectors.psa.base import RemoteConfigurationItem
from ticketbridge.connectors.psa.values import opt_int

DEVICE_FIELDS = ("id", "companyID", "referenceTitle", "serialNumber", "isActive")


def udf_value(item: dict[str, Any], name: str) -> str | None:
    """A UDF's value from an item's ``userDefinedFields`` array (names ignore case)."""
    fields = item.get("userDefinedFields")
    for field in fields if isinstance(fields, list) else []:
        if isinstance(field, dict) and str(field.get("name", "")).lower() == name.lower():
            value = field.get("value")
            return None if value is None else str(value)
    return None


def device(item: dict[str, Any]) -> RemoteConfigurationItem:
    active = item.get("isActive")
    name = item.get("referenceTitle") or item.get("serialNumber") or ""
    return RemoteConfigurationItem(
        id=int(item["id"]),
        company_id=opt_int(item.get("companyID")),
        name=str(name),
        active=True if active is None else bool(active),
    )
