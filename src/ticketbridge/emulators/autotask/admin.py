"""The emulator's own API under ``/_emulator/`` (outside the real namespace).

Every route is listed by ``GET /_emulator/`` and documented in docs/emulator-autotask.md.
Changes made here act "as a user in the Autotask UI": they fire webhooks and callouts like API
writes do, and are not counted against the request threshold.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import rules
from .entities import ENTITIES
from .errors import ApiError, app_error
from .metadata import picklist_value
from .seed import SEEDS
from .store import Store
from .wire import Call, Reply
from .writes import WriteContext, assign_fields, lower_body, new_row, render

if TYPE_CHECKING:
    from .app import Emulator

TECHNICIAN_ID = 31
ROUTES = [
    "GET /_emulator/",
    "POST /_emulator/reset {seed?}",
    "POST /_emulator/seed {seed}",
    "GET /_emulator/snapshot",
    "POST /_emulator/restore <snapshot>",
    "GET /_emulator/requests?since=&method=&path_contains=",
    "DELETE /_emulator/requests",
    "GET|POST|DELETE /_emulator/faults",
    "GET|PATCH /_emulator/limits",
    "GET|POST /_emulator/clock {advance_seconds | set_offset_seconds}",
    "POST /_emulator/time-entries",
    "DELETE /_emulator/time-entries/{id}",
    "PATCH|DELETE /_emulator/tickets/{id}",
    "POST /_emulator/tickets/{id}/notes",
    "POST /_emulator/companies",
    "PATCH|DELETE /_emulator/companies/{id}",
    "GET|PUT|POST /_emulator/picklists/{entity}/{field}",
    "PATCH /_emulator/picklists/{entity}/{field}/{value}",
    "GET|POST /_emulator/udfs/{entity}",
    "GET|POST /_emulator/callouts",
    "DELETE /_emulator/callouts/{id}",
    "GET /_emulator/hooks",
    "POST /_emulator/hooks/deliver",
]


def _bad(message: str, status: int = 400) -> ApiError:
    return ApiError(status, {"error": message})


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise _bad(f"not an id: {text!r}") from None


async def handle(em: Emulator, call: Call, segments: list[str]) -> Reply:
    low = [s.lower() for s in segments]
    method = call.method
    key = (method, *low[:1])
    body = call.json() if call.body.strip() else {}
    if not low:
        return Reply(body={"routes": ROUTES, "seeds": list(SEEDS)})
    handler = _SIMPLE.get(key if len(low) == 1 else ("", ""))
    if handler is not None:
        return Reply(body=handler(em, body, call))
    head, rest = low[0], segments[1:]
    if head == "hooks":
        if method == "POST" and low[1:] == ["deliver"]:
            return Reply(body={"results": await em.deliver_due()})
        if method == "GET" and not rest:
            return Reply(
                body={
                    "pending": [d.summary() for d in em.outbox.pending],
                    "log": list(em.outbox.log),
                }
            )
    if head == "time-entries" and method == "DELETE" and len(rest) == 1:
        return Reply(body=_delete(em, "TimeEntries", _int(rest[0])))
    if head == "tickets" and rest:
        return Reply(body=_ticket(em, method, _int(rest[0]), [r.lower() for r in rest[1:]], body))
    if head == "companies" and len(rest) == 1:
        if method == "PATCH":
            return Reply(body=_update(em, "Companies", _int(rest[0]), body))
        if method == "DELETE":
            return Reply(body=_delete(em, "Companies", _int(rest[0])))
    if head == "picklists" and len(rest) in {2, 3}:
        return Reply(body=_picklist(em, method, rest, body))
    if head == "udfs" and len(rest) == 1:
        return Reply(body=_udfs(em, method, rest[0], body))
    if head == "callouts" and method == "DELETE" and len(rest) == 1:
        before = len(em.store.callouts)
        em.store.callouts = [c for c in em.store.callouts if c["id"] != _int(rest[0])]
        if len(em.store.callouts) == before:
            raise _bad("no such callout", 404)
        em.persist()
        return Reply(body={"deleted": _int(rest[0])})
    raise _bad(f"no admin route {method} {call.path}", 404)


def _context(em: Emulator, body: dict[str, Any]) -> WriteContext:
    resource = body.pop("resourceID", None) if "asResourceID" not in body else None
    acting = int(body.pop("asResourceID", resource or TECHNICIAN_ID))
    if resource is not None:
        body["resourceID"] = resource
    return WriteContext(em.store, em.now_text(), acting)


def _create(em: Emulator, entity_name: str, body: dict[str, Any]) -> dict[str, Any]:
    entity = ENTITIES[entity_name.lower()]
    ctx = _context(em, dict(body))
    row = new_row(entity)
    data = lower_body({k: v for k, v in body.items() if k != "asResourceID"})
    assign_fields(ctx, entity, row, data, creating=True)
    rules.on_create(ctx, entity.name, row, em.rng)
    em.store.insert(entity.name, row)
    em.commit(ctx)
    return {"itemId": row["id"], "item": render(em.store, entity, row)}


def _update(em: Emulator, entity_name: str, row_id: int, body: dict[str, Any]) -> dict[str, Any]:
    entity = ENTITIES[entity_name.lower()]
    current = em.store.get(entity.name, row_id)
    if current is None:
        raise _bad(f"{entity.name} {row_id} does not exist", 404)
    ctx = _context(em, dict(body))
    row = {**current, "userDefinedFields": dict(current.get("userDefinedFields") or {})}
    data = lower_body({k: v for k, v in body.items() if k != "asResourceID"})
    changed = assign_fields(ctx, entity, row, data, creating=False)
    rules.on_update(ctx, entity.name, current, row, changed)
    current.clear()
    current.update(row)
    em.commit(ctx)
    return {"itemId": row_id, "changed": sorted(changed), "item": render(em.store, entity, row)}


def _delete(em: Emulator, entity_name: str, row_id: int) -> dict[str, Any]:
    row = em.store.delete(entity_name, row_id)
    if row is None:
        raise _bad(f"{entity_name} {row_id} does not exist", 404)
    ctx = WriteContext(em.store, em.now_text(), TECHNICIAN_ID)
    if entity_name == "Companies":
        for ticket in em.store.table("Tickets").values():
            if ticket.get("companyID") == row_id:
                ticket["companyID"] = 0
    rules.on_delete(ctx, entity_name, row)
    em.commit(ctx)
    return {"deleted": row_id}


def _ticket(
    em: Emulator, method: str, ticket_id: int, tail: list[str], body: dict[str, Any]
) -> dict[str, Any]:
    if not tail and method == "DELETE":
        for note_id in [
            n["id"]
            for n in em.store.table("TicketNotes").values()
            if n.get("ticketID") == ticket_id
        ]:
            em.store.delete("TicketNotes", note_id)
        return _delete(em, "Tickets", ticket_id)
    if not tail and method == "PATCH":
        return _update(em, "Tickets", ticket_id, body)
    if tail == ["notes"] and method == "POST":
        if em.store.get("Tickets", ticket_id) is None:
            raise _bad(f"Tickets {ticket_id} does not exist", 404)
        note = {"noteType": 1, "publish": 1, **body, "ticketID": ticket_id}
        return _create(em, "TicketNotes", note)
    raise _bad("unsupported ticket admin route", 404)


def _picklist(em: Emulator, method: str, rest: list[str], body: Any) -> dict[str, Any]:
    entity = ENTITIES.get(rest[0].lower())
    fdef = entity.field(rest[1]) if entity else None
    if entity is None or fdef is None or not fdef.picklist:
        raise _bad(f"{rest[0]}.{rest[1]} is not a picklist field", 404)
    values = em.store.picklists.setdefault(entity.name.lower(), {}).setdefault(fdef.name, [])
    if method == "GET" and len(rest) == 2:
        return {"values": values}
    if method == "PUT" and len(rest) == 2:
        items = body.get("values", body) if isinstance(body, dict) else body
        values[:] = [_pick(v, i) for i, v in enumerate(items, start=1)]
    elif method == "POST" and len(rest) == 2:
        if any(v["value"] == str(body.get("value")) for v in values):
            raise _bad("value already exists", 409)
        values.append(_pick(body, len(values) + 1))
    elif method == "PATCH" and len(rest) == 3:
        match = [v for v in values if v["value"] == rest[2]]
        if not match:
            raise _bad("no such picklist value", 404)
        for key in ("label", "isActive", "isDefaultValue", "sortOrder", "parentValue"):
            if key in body:
                match[0][key] = body[key]
    else:
        raise _bad("unsupported picklist route", 405)
    em.persist()
    return {"values": values}


def _pick(spec: dict[str, Any], order: int) -> dict[str, Any]:
    if "value" not in spec or "label" not in spec:
        raise _bad("a picklist value needs value and label")
    return picklist_value(
        spec["value"],
        str(spec["label"]),
        int(spec.get("sortOrder", order)),
        default=bool(spec.get("isDefaultValue", False)),
        active=bool(spec.get("isActive", True)),
        system=bool(spec.get("isSystem", False)),
        parent=str(spec.get("parentValue", "")),
    )


def _udfs(em: Emulator, method: str, entity_name: str, body: dict[str, Any]) -> dict[str, Any]:
    entity = ENTITIES.get(entity_name.lower())
    if entity is None or not entity.has_udfs:
        raise _bad(f"{entity_name} has no user-defined fields", 404)
    items = em.store.udfs.setdefault(entity.name.lower(), [])
    if method == "POST":
        if not body.get("name"):
            raise _bad("a UDF needs a name")
        items.append(
            {
                "name": str(body["name"]),
                "label": body.get("label", body["name"]),
                "type": body.get("type", "string"),
                "length": int(body.get("length", 255)),
                "description": body.get("description", ""),
                "picklistValues": body.get("picklistValues"),
            }
        )
        em.persist()
    return {"fields": items}


# --- routes without an id ----------------------------------------------------------------


def _reset(em: Emulator, body: dict[str, Any], call: Call) -> Any:
    seed_name = body.get("seed")
    if seed_name is not None and seed_name not in SEEDS:
        raise _bad(f"unknown seed {seed_name!r}")
    em.reset(seed_name)
    em.threads.reset_stats()
    return {"reset": True, "seed": em.seed_name}


def _seed(em: Emulator, body: dict[str, Any], call: Call) -> Any:
    if body.get("seed") not in SEEDS:
        raise _bad(f"seed must be one of {list(SEEDS)}")
    em.load_seed(str(body["seed"]))
    return {"seed": body["seed"]}


def _restore(em: Emulator, body: dict[str, Any], call: Call) -> Any:
    if not isinstance(body, dict) or "tables" not in body:
        raise _bad("restore needs a snapshot from GET /_emulator/snapshot")
    em.store = Store.from_json(body)
    em.persist()
    return {"restored": True}


def _requests(em: Emulator, body: dict[str, Any], call: Call) -> Any:
    since = int(call.query.get("since", "0") or 0)
    method = call.query.get("method", "").upper()
    contains = call.query.get("path_contains", "").lower()
    items = [
        r
        for r in em.requests
        if r["seq"] > since
        and (not method or r["method"] == method)
        and (not contains or contains in r["path"].lower())
    ]
    return {"total": em.request_total, "count": len(items), "requests": items}


def _clear_requests(em: Emulator, body: dict[str, Any], call: Call) -> Any:
    em.requests.clear()
    return {"cleared": True}


def _add_faults(em: Emulator, body: Any, call: Call) -> Any:
    specs = body.get("faults", [body]) if isinstance(body, dict) else body
    added = [em.faults.add(spec) for spec in specs]
    return {"added": [f.id for f in added], "faults": em.faults.to_json()}


def _clear_faults(em: Emulator, body: Any, call: Call) -> Any:
    em.faults.clear()
    return {"faults": []}


def _limits(em: Emulator, body: dict[str, Any], call: Call) -> Any:
    if call.method == "PATCH":
        em.limit_settings.update(body)
        if body.get("reset_counter"):
            em.counter.clear()
        if body.get("reset_threads"):
            em.threads.reset_stats()
    return {
        **em.limit_settings.to_json(),
        "current": em.counter.count(em.now_ts()),
        "threads": em.threads.stats(),
    }


def _clock(em: Emulator, body: dict[str, Any], call: Call) -> Any:
    if call.method == "POST":
        if "set_offset_seconds" in body:
            em.clock_offset = float(body["set_offset_seconds"])
        em.clock_offset += float(body.get("advance_seconds", 0))
    return {"now": em.now_text(), "offset_seconds": em.clock_offset}


def _add_callout(em: Emulator, body: dict[str, Any], call: Call) -> Any:
    if not body.get("url"):
        raise _bad("a callout needs a url")
    fmt = body.get("format", "name_value")
    if fmt not in {"name_value", "soap", "xml_rpc"}:
        raise _bad("format must be name_value, soap or xml_rpc")
    if str(body.get("http_method", "POST")).upper() not in {"GET", "POST"}:
        raise _bad("http_method must be GET or POST")
    callout = {
        "id": max((c["id"] for c in em.store.callouts), default=0) + 1,
        "active": True,
        "events": ["create", "update"],
        "format": fmt,
        "http_method": "POST",
        **body,
    }
    em.store.callouts.append(callout)
    em.persist()
    return callout


_SIMPLE: dict[tuple[str, ...], Any] = {
    ("POST", "reset"): _reset,
    ("POST", "seed"): _seed,
    ("GET", "snapshot"): lambda em, body, call: em.store.to_json(),
    ("POST", "restore"): _restore,
    ("GET", "requests"): _requests,
    ("DELETE", "requests"): _clear_requests,
    ("GET", "faults"): lambda em, body, call: {"faults": em.faults.to_json()},
    ("POST", "faults"): _add_faults,
    ("DELETE", "faults"): _clear_faults,
    ("GET", "limits"): _limits,
    ("PATCH", "limits"): _limits,
    ("GET", "clock"): _clock,
    ("POST", "clock"): _clock,
    ("POST", "time-entries"): lambda em, body, call: _create(em, "TimeEntries", body),
    ("POST", "companies"): lambda em, body, call: _create(em, "Companies", body),
    ("GET", "callouts"): lambda em, body, call: {"callouts": em.store.callouts},
    ("POST", "callouts"): _add_callout,
}

__all__ = ["app_error", "handle"]
