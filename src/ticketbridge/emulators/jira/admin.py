"""The admin API under ``/_emulator/`` (no auth, like the Autotask emulator's).

GET  /_emulator/                  mode, counts, settings
POST /_emulator/reset             {"seed": "demo"|"empty"}: fresh state, faults, log, outbox
GET  /_emulator/snapshot          the whole state as JSON; POST /_emulator/restore puts one back
GET|POST|DELETE /_emulator/faults  {"status", "count", "path_contains", "methods",
                                   "retry_after", "body"}
PUT|DELETE /_emulator/rate-limit  {"max_requests", "per_seconds"}: 429 + Retry-After past it
GET|DELETE /_emulator/requests    the request log
GET|POST /_emulator/webhooks      register like /rest/webhooks/1.0/webhook; DELETE .../{id}
POST /_emulator/deliver           send due webhook deliveries now; GET /_emulator/deliveries
PUT  /_emulator/indexed-properties {"keys": [...]}: issue properties JQL may search
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .errors import JiraError, bad_request, not_found
from .faults import Fault, RateLimit
from .webhooks import register, webhook_json
from .wire import Reply

if TYPE_CHECKING:
    from .app import Emulator


def _json(body: bytes) -> Any:
    try:
        return json.loads(body) if body.strip() else {}
    except ValueError:
        raise bad_request("Invalid JSON.") from None


async def handle(emu: Emulator, method: str, parts: list[str], body: bytes, base: str) -> Reply:
    name = parts[0] if parts else ""
    data = _json(body) if method in {"POST", "PUT"} else {}
    if name == "" and method == "GET":
        return Reply(body=emu.summary())
    if name == "reset" and method == "POST":
        emu.reset(str(data.get("seed") or emu.seed_name))
        return Reply(body=emu.summary())
    if name == "snapshot" and method == "GET":
        return Reply(body=emu.store.snapshot())
    if name == "restore" and method == "POST":
        try:
            emu.store.restore(data)
        except ValueError as exc:
            raise bad_request(str(exc)) from None
        emu.persist()
        return Reply(body=emu.summary())
    if name == "faults":
        if method == "GET":
            return Reply(body=[f.to_json() for f in emu.faults])
        if method == "DELETE":
            emu.faults.clear()
            return Reply(204)
        if method == "POST":
            fault = Fault.from_spec(data, len(emu.faults) + 1)
            emu.faults.append(fault)
            return Reply(201, fault.to_json())
    if name == "rate-limit":
        if method == "PUT":
            emu.rate_limit = RateLimit.from_spec(data)
            return Reply(body=emu.summary())
        if method == "DELETE":
            emu.rate_limit = None
            return Reply(204)
    if name == "requests":
        if method == "GET":
            return Reply(body=emu.requests)
        if method == "DELETE":
            emu.requests.clear()
            return Reply(204)
    if name == "webhooks":
        if method == "GET":
            return Reply(body=[webhook_json(base, h) for h in emu.store.data["webhooks"].values()])
        if method == "POST":
            hook = register(emu, data)
            emu.persist()
            return Reply(201, webhook_json(base, hook))
        if method == "DELETE" and len(parts) == 2:
            if emu.store.data["webhooks"].pop(parts[1], None) is None:
                raise not_found("Webhook not found.")
            emu.persist()
            return Reply(204)
    if name == "deliver" and method == "POST":
        return Reply(body=await emu.deliver_due())
    if name == "deliveries" and method == "GET":
        return Reply(body={"pending": len(emu.outbox.pending), "log": emu.outbox.log})
    if name == "indexed-properties" and method == "PUT":
        keys = data.get("keys")
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise bad_request("keys must be a list of property keys (or key.path aliases)")
        emu.indexed_properties = set(keys)
        return Reply(body=emu.summary())
    raise JiraError(404, [f"No admin route {method} /_emulator/{'/'.join(parts)}"])
