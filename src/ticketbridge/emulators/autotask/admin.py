"""The emulator's own API under ``/_emulator/`` (outside the real namespace).

Every route is listed by ``GET /_emulator/`` and documented in docs/emulator-autotask.md.
Changes made here act "as a user in the Autotask UI": they fire webhooks and callouts like API
writes do, and are not counted against the request threshold.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from . import rules
from .admin_input import (
    MAX_CLOCK_OFFSET_SECONDS,
    CalloutIn,
    ClockIn,
    FaultIn,
    LimitsIn,
    PicklistListIn,
    PicklistPatchIn,
    PicklistValueIn,
    ResetIn,
    SeedIn,
    SnapshotIn,
    UdfIn,
    parse,
)
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
MAX_FAULTS_PER_CALL = 1_000
ID_TEXT = re.compile(r"[0-9]{1,18}")
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
    return app_error(message, status=status)


def _int(text: str) -> int:
    if not ID_TEXT.fullmatch(text):
        raise _bad(f"not an id: {text[:40]!r}")
    return int(text)


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise _bad("The request body must be a JSON object.")
    return body


async def handle(em: Emulator, call: Call, segments: list[str]) -> Reply:
    low = [s.lower() for s in segments]
    method = call.method
    key = (method, *low[:1])
    body = call.json(status=400) if call.body.strip() else {}
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
    acting = body.pop("asResourceID", resource or TECHNICIAN_ID)
    if isinstance(acting, bool) or not isinstance(acting, int):
        raise _bad("asResourceID must be the id of a resource")
    if resource is not None:
        body["resourceID"] = resource
    return WriteContext(em.store, em.now_text(), acting)


def _create(em: Emulator, entity_name: str, body: Any) -> dict[str, Any]:
    entity = ENTITIES[entity_name.lower()]
    body = _object(body)
    ctx = _context(em, dict(body))
    row = new_row(entity)
    data = lower_body({k: v for k, v in body.items() if k != "asResourceID"})
    assign_fields(ctx, entity, row, data, creating=True)
    rules.on_create(ctx, entity.name, row, em.rng)
    em.store.insert(entity.name, row)
    em.commit(ctx)
    return {"itemId": row["id"], "item": render(em.store, entity, row)}


def _update(em: Emulator, entity_name: str, row_id: int, body: Any) -> dict[str, Any]:
    entity = ENTITIES[entity_name.lower()]
    body = _object(body)
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
        note = {"noteType": 1, "publish": 1, **_object(body), "ticketID": ticket_id}
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
        listed = parse(PicklistListIn, {"values": body} if isinstance(body, list) else body)
        values[:] = [_pick(v, i) for i, v in enumerate(listed.values, start=1)]
    elif method == "POST" and len(rest) == 2:
        added = parse(PicklistValueIn, body)
        if any(v["value"] == str(added.value) for v in values):
            raise _bad("value already exists", 409)
        values.append(_pick(added, len(values) + 1))
    elif method == "PATCH" and len(rest) == 3:
        match = [v for v in values if v["value"] == rest[2]]
        if not match:
            raise _bad("no such picklist value", 404)
        changes = parse(PicklistPatchIn, body).model_dump(exclude_unset=True)
        if "parentValue" in changes:
            changes["parentValue"] = str(changes["parentValue"] or "")
        match[0].update(changes)
    else:
        raise _bad("unsupported picklist route", 405)
    em.persist()
    return {"values": values}


def _pick(spec: PicklistValueIn, order: int) -> dict[str, Any]:
    return picklist_value(
        spec.value,
        spec.label,
        spec.sortOrder if spec.sortOrder is not None else order,
        default=spec.isDefaultValue,
        active=spec.isActive,
        system=spec.isSystem,
        parent=str(spec.parentValue),
    )


def _udfs(em: Emulator, method: str, entity_name: str, body: Any) -> dict[str, Any]:
    entity = ENTITIES.get(entity_name.lower())
    if entity is None or not entity.has_udfs:
        raise _bad(f"{entity_name} has no user-defined fields", 404)
    items = em.store.udfs.setdefault(entity.name.lower(), [])
    if method == "POST":
        udf = parse(UdfIn, body)
        picks = udf.picklistValues
        items.append(
            {
                "name": udf.name,
                "label": udf.label if udf.label is not None else udf.name,
                "type": udf.type,
                "length": udf.length,
                "description": udf.description,
                "picklistValues": (
                    [_pick(p, i) for i, p in enumerate(picks, start=1)] if picks else None
                ),
            }
        )
        em.persist()
    return {"fields": items}


# --- routes without an id ----------------------------------------------------------------


def _reset(em: Emulator, body: Any, call: Call) -> Any:
    em.reset(parse(ResetIn, body).seed)
    em.threads.reset_stats()
    return {"reset": True, "seed": em.seed_name}


def _seed(em: Emulator, body: Any, call: Call) -> Any:
    seed_name = parse(SeedIn, body).seed
    em.load_seed(seed_name)
    return {"seed": seed_name}


def _restore(em: Emulator, body: Any, call: Call) -> Any:
    snapshot = parse(SnapshotIn, body)
    unknown = sorted(set(snapshot.tables) - set(ENTITIES))
    if unknown:
        raise _bad(f"restore needs a snapshot from GET /_emulator/snapshot; unknown {unknown}")
    em.store = Store.from_json(snapshot.model_dump())
    em.persist()
    return {"restored": True}


def _requests(em: Emulator, body: Any, call: Call) -> Any:
    since_text = call.query.get("since", "") or "0"
    if not ID_TEXT.fullmatch(since_text):
        raise _bad("since must be a request sequence number")
    since = int(since_text)
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
    if not isinstance(specs, list) or not 1 <= len(specs) <= MAX_FAULTS_PER_CALL:
        raise _bad(f"faults must be a fault object or a list of 1 to {MAX_FAULTS_PER_CALL}")
    valid = [parse(FaultIn, spec) for spec in specs]  # all or nothing
    added = [em.faults.add(spec) for spec in valid]
    return {"added": [f.id for f in added], "faults": em.faults.to_json()}


def _clear_faults(em: Emulator, body: Any, call: Call) -> Any:
    em.faults.clear()
    return {"faults": []}


def _limits(em: Emulator, body: Any, call: Call) -> Any:
    if call.method == "PATCH":
        change = parse(LimitsIn, body)
        em.limit_settings.update(change.settings())
        if change.reset_counter:
            em.counter.clear()
        if change.reset_threads:
            em.threads.reset_stats()
    return {
        **em.limit_settings.to_json(),
        "current": em.counter.count(em.now_ts()),
        "threads": em.threads.stats(),
    }


def _clock(em: Emulator, body: Any, call: Call) -> Any:
    if call.method == "POST":
        change = parse(ClockIn, body)
        offset = em.clock_offset
        if change.set_offset_seconds is not None:
            offset = change.set_offset_seconds
        offset += change.advance_seconds
        if abs(offset) > MAX_CLOCK_OFFSET_SECONDS:
            raise _bad(
                f"the clock may be moved at most {MAX_CLOCK_OFFSET_SECONDS} seconds either way"
            )
        em.clock_offset = offset
    return {"now": em.now_text(), "offset_seconds": em.clock_offset}


def _add_callout(em: Emulator, body: Any, call: Call) -> Any:
    spec = parse(CalloutIn, body)
    callout = {
        "id": max((c["id"] for c in em.store.callouts), default=0) + 1,
        **spec.model_dump(exclude_none=True),
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
