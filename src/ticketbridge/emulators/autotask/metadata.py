"""entityInformation, entityInformation/fields and entityInformation/userDefinedFields."""

from __future__ import annotations

from typing import Any

from .auth import ApiUser
from .schema import EntityDef, FieldDef
from .store import Store


def entity_information(entity: EntityDef, user: ApiUser) -> dict[str, Any]:
    def access(op: str, possible: bool) -> str:
        return "All" if possible and user.allows(entity.name, op) else "None"

    return {
        "info": {
            "name": entity.name,
            "canCreate": entity.can_create,
            "canDelete": entity.can_delete,
            "canQuery": entity.can_query,
            "canUpdate": entity.can_update,
            "userAccessForCreate": access("create", entity.can_create),
            "userAccessForDelete": access("delete", entity.can_delete),
            "userAccessForQuery": access("query", entity.can_query),
            "userAccessForUpdate": access("update", entity.can_update),
            "hasUserDefinedFields": entity.has_udfs,
            "supportsWebhookCallouts": entity.webhooks,
        }
    }


def _field_info(store: Store, entity: EntityDef, fdef: FieldDef) -> dict[str, Any]:
    picklist = [dict(v) for v in store.picklist(entity.name, fdef.name)] if fdef.picklist else None
    return {
        "name": fdef.name,
        "dataType": fdef.data_type,
        "length": fdef.length,
        "isRequired": fdef.required,
        "isReadOnly": fdef.read_only,
        "isQueryable": fdef.queryable,
        "isReference": bool(fdef.reference),
        "referenceEntityType": fdef.reference,
        "isPickList": fdef.picklist,
        "picklistValues": picklist,
        "picklistParentValueField": fdef.parent_field,
        "isSupportedWebhookField": fdef.webhook,
    }


def fields(store: Store, entity: EntityDef) -> dict[str, Any]:
    return {"fields": [_field_info(store, entity, f) for f in entity.fields]}


def user_defined_fields(store: Store, entity: EntityDef) -> dict[str, Any]:
    out = []
    for udf in store.udf_defs(entity.name):
        values = udf.get("picklistValues")
        out.append(
            {
                "name": udf["name"],
                "label": udf.get("label", udf["name"]),
                "type": udf.get("type", "string"),
                "length": udf.get("length", 0),
                "description": udf.get("description", ""),
                "isRequired": udf.get("isRequired", False),
                "isReadOnly": False,
                "isQueryable": True,
                "isReference": False,
                "referenceEntityType": "",
                "isPickList": bool(values),
                "picklistValues": [dict(v) for v in values] if values else None,
                "picklistParentValueField": "",
                "defaultValue": udf.get("defaultValue"),
                "isSupportedWebhookField": udf.get("isSupportedWebhookField", True),
            }
        )
    return {"fields": out}


def picklist_value(
    value: str | int,
    label: str,
    sort_order: int,
    *,
    default: bool = False,
    active: bool = True,
    system: bool = False,
    parent: str = "",
) -> dict[str, Any]:
    return {
        "value": str(value),
        "label": label,
        "isDefaultValue": default,
        "sortOrder": sort_order,
        "parentValue": parent,
        "isActive": active,
        "isSystem": system,
    }
