"""Routing of the real namespace ``/atservicesrest/v1.0/...`` (case-insensitive segments)."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from . import metadata
from .auth import ApiUser, permission_error, require
from .entities import CHILD_ROUTES, ENTITIES
from .errors import ApiError, app_error, method_not_allowed, no_route, not_found
from .query import MAX_RECORDS, Query, parse_query, select
from .rules import attachment_created, on_create, on_delete, on_update
from .schema import EntityDef
from .store import Row
from .wire import Call, Reply, parse_json
from .writes import WriteContext, assign_fields, lower_body, new_row, render

if TYPE_CHECKING:
    from .app import Emulator

VERSION = {"majorVersion": "2026", "minorVersion": "1", "build": "0", "customerType": "Emulator"}
UPDATE_MISSING_TEXT = (
    "No matching records found. The logged in Resource may not have the required "
    "permissions to update the data."
)
DELETE_MISSING_TEXT = (
    "No matching records found. The logged in Resource may not have the required "
    "permissions to delete the data."
)
# An id as the API's routes take it: ASCII digits within bigint ("²".isdigit() is true, and
# int() refuses strings of more than 4,300 digits).
ID_TEXT = re.compile(r"[0-9]{1,18}")


def entity_of(name: str) -> EntityDef:
    entity = ENTITIES.get(name.lower())
    if entity is None:
        raise ApiError(404, {"Message": f"No HTTP resource was found for entity '{name}'."})
    return entity


def _int(text: str) -> int | None:
    return int(text) if ID_TEXT.fullmatch(text) else None


def route(em: Emulator, call: Call, user: ApiUser, rest: list[str]) -> Reply:
    """``rest`` = segments after ``v1.0``."""
    low = [s.lower() for s in rest]
    method = call.method
    if low == ["version"]:
        return Reply(body=VERSION)
    if low == ["thresholdinformation"]:
        settings = em.limit_settings
        return Reply(
            body={
                "externalRequestThreshold": settings.threshold,
                "requestThresholdTimeframe": settings.timeframe_minutes,
                "currentTimeframeRequestCount": em.counter.count(em.now_ts()),
            }
        )
    entity = entity_of(rest[0])
    tail = low[1:]
    if tail[:1] == ["entityinformation"]:
        return _metadata(em, user, entity, tail[1:], method)
    if not tail:
        return _collection(em, call, user, entity, method)
    if tail[0] == "query":
        return _query_route(em, call, user, entity, tail[1:])
    row_id = _int(tail[0])
    if row_id is None:
        raise no_route(call.path)
    if len(tail) == 1:
        return _item(em, user, entity, row_id, method)
    child = CHILD_ROUTES.get((entity.name.lower(), tail[1]))
    if child is None:
        raise no_route(call.path)
    return _child(em, call, user, entity, row_id, child.entity, child.parent_field, tail[2:])


def _metadata(
    em: Emulator, user: ApiUser, entity: EntityDef, tail: list[str], method: str
) -> Reply:
    if method != "GET":
        raise method_not_allowed(method)
    if not tail:
        return Reply(body=metadata.entity_information(entity, user))
    if tail == ["fields"]:
        return Reply(body=metadata.fields(em.store, entity))
    if tail == ["userdefinedfields"]:
        return Reply(body=metadata.user_defined_fields(em.store, entity))
    raise no_route("/".join(tail))


def _collection(em: Emulator, call: Call, user: ApiUser, entity: EntityDef, method: str) -> Reply:
    if method not in {"POST", "PATCH", "PUT"}:
        raise method_not_allowed(method)
    if entity.child_only_writes:
        raise no_route(call.path)
    if method == "POST":
        return create(em, call, user, entity, call.json())
    return update(em, call, user, entity, call.json(), replace=method == "PUT")


def _item(em: Emulator, user: ApiUser, entity: EntityDef, row_id: int, method: str) -> Reply:
    if method == "GET":
        require(user, entity.name, "query")
        row = em.store.get(entity.name, row_id)
        if row is None:
            raise not_found()
        return Reply(body={"item": render(em.store, entity, row, heavy=True)})
    if method == "DELETE" and entity.can_delete and not entity.child_only_writes:
        return delete(em, user, entity, row_id)
    raise method_not_allowed(method)


def _child(
    em: Emulator,
    call: Call,
    user: ApiUser,
    parent: EntityDef,
    parent_id: int,
    child_name: str,
    parent_field: str,
    tail: list[str],
) -> Reply:
    entity = ENTITIES[child_name.lower()]
    method = call.method
    if tail[:1] == ["entityinformation"]:
        return _metadata(em, user, entity, tail[1:], method)
    if em.store.get(parent.name, parent_id) is None:
        if method == "GET":
            raise not_found()
        raise app_error(f"Value does not reference an existing entity for {parent_field} . ")
    if not tail:
        if method == "GET":
            require(user, entity.name, "query")
            rows = sorted(
                (
                    r
                    for r in em.store.table(entity.name).values()
                    if r.get(parent_field) == parent_id
                ),
                key=lambda r: r["id"],
            )
            items = [render(em.store, entity, r) for r in rows]
            return Reply(body={"items": items, "pageDetails": _page_details(len(items), 500)})
        body = call.json()
        fixed = {parent_field: parent_id}
        if method == "POST":
            return create(em, call, user, entity, body, fixed=fixed)
        if method in {"PATCH", "PUT"} and entity.can_update:
            return update(em, call, user, entity, body, replace=method == "PUT", fixed=fixed)
        raise method_not_allowed(method)
    row_id = _int(tail[0])
    if row_id is None or len(tail) != 1:
        raise no_route(call.path)
    row = em.store.get(entity.name, row_id)
    if method == "GET":
        require(user, entity.name, "query")
        if row is None or row.get(parent_field) != parent_id:
            raise not_found()
        item = render(em.store, entity, row, heavy=True)
        if entity.name == "TicketAttachments":
            return Reply(body={"items": [item]})
        return Reply(body={"item": item})
    if method == "DELETE" and entity.can_delete:
        if row is not None and row.get(parent_field) != parent_id:
            raise app_error(DELETE_MISSING_TEXT)
        return delete(em, user, entity, row_id)
    raise method_not_allowed(method)


# --- query -----------------------------------------------------------------------------------


def _page_details(
    count: int, size: int, nxt: str | None = None, prev: str | None = None
) -> dict[str, Any]:
    return {"count": count, "requestCount": size, "prevPageUrl": prev, "nextPageUrl": nxt}


def _query_route(
    em: Emulator, call: Call, user: ApiUser, entity: EntityDef, tail: list[str]
) -> Reply:
    method = call.method
    if method not in {"GET", "POST"}:
        raise method_not_allowed(method)
    if tail not in ([], ["count"], ["next"]):
        raise no_route(call.path)
    require(user, entity.name, "query")
    paging: dict[str, Any] = {}
    if tail == ["next"]:
        paging = _paging(call.query.get("paging", ""))
        if method == "GET" and paging.get("method") == "POST":
            raise method_not_allowed("GET")
    if method == "GET":
        search = call.query.get("search")
        if search is None:
            raise app_error("Invalid query syntax. The search parameter is required.")
        body = parse_json(search)
    else:
        body = call.json()
    query = parse_query(entity, body, em.store.udf_defs(entity.name))
    rows = select(em.store.table(entity.name).values(), query)
    if tail == ["count"]:
        return Reply(body={"queryCount": len(rows)})
    return _page(em, call, entity, query, rows, paging, body)


def _paging(text: str) -> dict[str, Any]:
    """The opaque paging token of a next/prev URL; anything we did not write is refused."""
    try:
        paging = parse_json(text) if text else None
    except ApiError:
        paging = None
    if not isinstance(paging, dict):
        raise app_error("Invalid paging parameter.")
    size = paging.get("pageSize", MAX_RECORDS)
    ids = [paging[k] for k in ("afterId", "beforeId") if k in paging]
    if not (_whole(size) and 1 <= size <= MAX_RECORDS and all(_whole(i) for i in ids)):
        raise app_error("Invalid paging parameter.")
    return paging


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**63


def _page(
    em: Emulator,
    call: Call,
    entity: EntityDef,
    query: Query,
    rows: list[Row],
    paging: dict[str, Any],
    body: Any,
) -> Reply:
    size = int(paging.get("pageSize", query.max_records))
    if "beforeId" in paging:
        before = [r for r in rows if r["id"] < int(paging["beforeId"])]
        page = before[-size:]
    else:
        after = int(paging.get("afterId", -(2**62)))
        page = [r for r in rows if r["id"] > after][:size]
    nxt = prev = None
    if page:
        if rows[-1]["id"] > page[-1]["id"]:
            nxt = _next_url(call, entity, {"pageSize": size, "afterId": page[-1]["id"]}, body)
        if rows[0]["id"] < page[0]["id"]:
            prev = _next_url(call, entity, {"pageSize": size, "beforeId": page[0]["id"]}, body)
    items = [render(em.store, entity, r, query.include) for r in page]
    return Reply(body={"items": items, "pageDetails": _page_details(len(items), size, nxt, prev)})


def _next_url(call: Call, entity: EntityDef, paging: dict[str, Any], body: Any) -> str:
    paging["method"] = call.method
    url = (
        f"{call.base_url}/ATServicesRest/V1.0/{entity.name}/query/next"
        f"?paging={quote(json.dumps(paging, separators=(',', ':')), safe='')}"
    )
    if call.method == "GET":
        url += f"&search={quote(json.dumps(body, separators=(',', ':')), safe='')}"
    return url


# --- writes ----------------------------------------------------------------------------------


def _context(em: Emulator, call: Call, user: ApiUser, operation: str) -> WriteContext:
    impersonate = call.headers.get("impersonationresourceid")
    impersonator: int | None = None
    if impersonate:
        resource_id = _int(impersonate)
        resource = em.store.get("Resources", resource_id) if resource_id is not None else None
        if resource is None or not resource.get("isActive"):
            raise permission_error(operation)
        impersonator = resource["id"]
    return WriteContext(em.store, em.now_text(), user.resource_id, impersonator)


def create(
    em: Emulator,
    call: Call,
    user: ApiUser,
    entity: EntityDef,
    body: Any,
    fixed: dict[str, Any] | None = None,
) -> Reply:
    if not entity.can_create:
        raise method_not_allowed("POST")
    require(user, entity.name, "create")
    ctx = _context(em, call, user, "create")
    data = lower_body(body)
    row = new_row(entity)
    row.update(fixed or {})
    assign_fields(ctx, entity, row, data, creating=True, fixed=frozenset(fixed or {}))
    if entity.name == "TicketAttachments":
        attachment_created(ctx, row, em.attachment_uploads, em.now_ts())
    on_create(ctx, entity.name, row, em.rng)
    em.store.insert(entity.name, row)
    em.commit(ctx)
    return Reply(body={"itemId": row["id"]})


def update(
    em: Emulator,
    call: Call,
    user: ApiUser,
    entity: EntityDef,
    body: Any,
    *,
    replace: bool,
    fixed: dict[str, Any] | None = None,
) -> Reply:
    require(user, entity.name, "update")
    ctx = _context(em, call, user, "update")
    data = lower_body(body)
    raw_id = data.get("id")
    row_id = None if raw_id is None or isinstance(raw_id, bool) else _int(str(raw_id))
    if row_id is None:
        raise app_error("Value does not exist for the required field id.")
    current = em.store.get(entity.name, row_id)
    if current is None or any(current.get(k) != v for k, v in (fixed or {}).items()):
        raise app_error(UPDATE_MISSING_TEXT)
    row = json.loads(json.dumps(current))
    changed = assign_fields(
        ctx, entity, row, data, creating=False, replace=replace, fixed=frozenset(fixed or {})
    )
    on_update(ctx, entity.name, current, row, changed)
    current.clear()
    current.update(row)
    em.commit(ctx)
    return Reply(body={"itemId": current["id"]})


def delete(em: Emulator, user: ApiUser, entity: EntityDef, row_id: int) -> Reply:
    require(user, entity.name, "delete")
    row = em.store.get(entity.name, row_id)
    if row is None:
        raise app_error(DELETE_MISSING_TEXT)
    ctx = WriteContext(em.store, em.now_text(), user.resource_id)
    em.store.delete(entity.name, row_id)
    on_delete(ctx, entity.name, row)
    em.commit(ctx)
    return Reply(body={"itemId": row_id})
