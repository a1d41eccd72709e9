"""The ASGI app: ``create_app`` and the :class:`Emulator` holding one Jira site's state."""

from __future__ import annotations

import base64
import binascii
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from random import Random
from typing import Any
from urllib.parse import parse_qsl

import anyio
import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import admin, browse, refdata, routes, seed, webhooks
from .errors import NOT_AUTHENTICATED, JiraError
from .faults import Fault, RateLimit
from .render import comment_json, issue_json
from .store import Store
from .text import jira_time
from .wire import Reply, Req

Clock = Callable[[], datetime]
MODES = {"cloud", "dc"}
REQUEST_LOG_LIMIT = 10_000
ANONYMOUS_OK = {"server_info"}  # Jira answers serverInfo without credentials


class Emulator:
    def __init__(
        self,
        *,
        mode: str = "cloud",
        seed_name: str = "demo",
        state_file: Path | None = None,
        clock: Clock | None = None,
        outbound: httpx.AsyncClient | None = None,
        public_url: str | None = None,
        speed: float = 1.0,
        random_seed: int = 0,
    ) -> None:
        if mode not in MODES:
            raise ValueError("mode must be cloud or dc")
        self.mode = mode
        self.seed_name = seed_name
        self.state_file = state_file
        self.public_url = public_url.rstrip("/") if public_url else None
        self.base_url = self.public_url or "http://127.0.0.1:8766"
        self.speed = speed
        self.random_seed = random_seed
        self._clock = clock or (lambda: datetime.now(UTC))
        self.outbox = webhooks.Outbox(client=outbound)
        self.indexed_properties: set[str] = set()
        loaded = Store.load(state_file) if state_file else None
        self.store = loaded or Store.fresh(seed_name)
        self._reset_runtime()
        if loaded is None and seed_name == "demo":
            self._seed_demo()
        self.persist()

    @property
    def cloud(self) -> bool:
        return self.mode == "cloud"

    def now(self) -> datetime:
        moment = self._clock()
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    def now_ts(self) -> float:
        return self.now().timestamp()

    def _reset_runtime(self) -> None:
        self.rng = Random(self.random_seed)
        self.faults: list[Fault] = []
        self.rate_limit: RateLimit | None = None
        self.requests: list[dict[str, Any]] = []
        self.outbox.pending.clear()
        self.outbox.log.clear()

    def reset(self, seed_name: str) -> None:
        self.store = Store.fresh(seed_name)
        self.seed_name = seed_name
        self._reset_runtime()
        if seed_name == "demo":
            self._seed_demo()
        self.persist()

    def _seed_demo(self) -> None:
        """Two issues written through the API's own create path, so they look like any other."""
        from . import issues

        view = refdata.View(self.base_url, "2", self.cloud, seed.USERS[0])
        for fields in (
            {
                "project": {"key": "OPS"},
                "issuetype": {"name": "Task"},
                "summary": "Nightly backup of FS01 failed",
                "description": "Veeam job FS01 ended with Failed.",
                "labels": ["backup-failure"],
            },
            {
                "project": {"key": "SUP"},
                "issuetype": {"name": "Service Request"},
                "summary": "Restore a mailbox",
                "customfield_10002": [1],
            },
        ):
            import json

            req = Req("POST", "", [], {}, json.dumps({"fields": fields}).encode(), view)
            issues.create(self, req)
        self.outbox.pending.clear()

    def summary(self) -> dict[str, Any]:
        data = self.store.data
        return {
            "mode": self.mode,
            "seed": self.seed_name,
            "issues": len(self.store.live_issues()),
            "comments": len(data["comments"]),
            "webhooks": len(data["webhooks"]),
            "faults": len(self.faults),
            "rate_limit": None
            if self.rate_limit is None
            else {
                "max_requests": self.rate_limit.max_requests,
                "per_seconds": self.rate_limit.per_seconds,
            },
            "indexed_properties": sorted(self.indexed_properties),
            "pending_deliveries": len(self.outbox.pending),
        }

    def persist(self) -> None:
        if self.state_file is not None:
            self.store.save(self.state_file)

    # --- webhooks -------------------------------------------------------------------------
    def emit(
        self,
        event: str,
        issue: dict[str, Any],
        user: dict[str, Any],
        *,
        event_type: str | None = None,
        changelog: dict[str, Any] | None = None,
        comment: dict[str, Any] | None = None,
    ) -> None:
        if not self.store.data["webhooks"]:
            return
        # Issue payloads are the v2 REST issue; comment bodies are ADF on Cloud (reference §1.12).
        view = refdata.View(self.base_url, "2", self.cloud, None)
        payload: dict[str, Any] = {"timestamp": int(self.now_ts() * 1000), "webhookEvent": event}
        if comment is not None:
            cview = refdata.View(self.base_url, "3" if self.cloud else "2", self.cloud, None)
            payload["comment"] = comment_json(cview, issue, comment) | {
                "properties": comment["properties"]
            }
            payload["issue"] = issue_json(
                view,
                self.store,
                issue,
                fields=["summary", "status", "issuetype", "project", "priority"],
            )
            webhooks.enqueue(self, event, issue, payload)
            kind = event_type or "issue_commented"
            self.emit("jira:issue_updated", issue, user, event_type=kind, comment=None)
            return
        payload["issue_event_type_name"] = event_type
        payload["user"] = refdata.user_json(view, user)
        payload["issue"] = issue_json(view, self.store, issue)
        if changelog is not None:
            payload["changelog"] = {"id": changelog["id"], "items": changelog["items"]}
        webhooks.enqueue(self, event, issue, payload)

    async def deliver_due(self) -> list[dict[str, Any]]:
        return await self.outbox.deliver_due(self.now_ts(), self.speed)

    # --- requests -------------------------------------------------------------------------
    def authenticate(self, headers: dict[str, str]) -> dict[str, Any] | None:
        """The user the credentials name; None without credentials; 401 when they are wrong."""
        raw = headers.get("authorization", "")
        if not raw:
            return None
        scheme, _, value = raw.partition(" ")
        user = None
        if scheme.lower() == "basic":
            try:
                login, _, secret = base64.b64decode(value, validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                login, secret = "", ""
            user = refdata.find_user(login)
            # Cloud: email + API token. Data Center: username (or email) + password; the
            # emulator's "password" is the same token.
            if user is not None and (
                secret != user["token"] or (self.cloud and login != user["emailAddress"])
            ):
                user = None
        elif scheme.lower() == "bearer" and not self.cloud:
            user = next((u for u in seed.USERS if u["pat"] == value.strip()), None)
        if user is None:
            raise JiraError(
                401,
                [NOT_AUTHENTICATED],
                headers={"WWW-Authenticate": 'Basic realm="protected-area"'},
            )
        return user

    async def handle(
        self, method: str, path: str, query: str, headers: dict[str, str], body: bytes, base: str
    ) -> Reply:
        parts = [p for p in path.split("/") if p]
        if parts[:1] == ["_emulator"]:
            try:
                reply = await admin.handle(self, method, parts[1:], body, base)
            except JiraError as exc:
                return Reply(exc.status, exc.body, exc.headers)
            self.persist()
            return reply
        if parts[:1] == ["browse"] and len(parts) == 2 and method in {"GET", "HEAD"}:
            return browse.page(self, parts[1])
        self.base_url = base
        entry: dict[str, Any] = {
            "seq": len(self.requests) + 1,
            "method": method,
            "path": path,
            "query": query,
            "at": jira_time(self.now_ts()),
            "status": None,
            "user": None,
        }
        self.requests.append(entry)
        del self.requests[:-REQUEST_LOG_LIMIT]
        try:
            reply = self._api(method, path, query, headers, body, base, entry)
        except JiraError as exc:
            reply = Reply(exc.status, exc.body, exc.headers)
        entry["status"] = reply.status
        if method in {"POST", "PUT", "DELETE"} and reply.status < 300:
            self.persist()
        return reply

    def _api(
        self,
        method: str,
        path: str,
        query: str,
        headers: dict[str, str],
        body: bytes,
        base: str,
        entry: dict[str, Any],
    ) -> Reply:
        for fault in list(self.faults):
            if fault.matches(method, path):
                fault.hits += 1
                if fault.count is not None:
                    fault.count -= 1
                    if fault.count <= 0:
                        self.faults.remove(fault)
                raise fault.error()
        if self.rate_limit is not None:
            reset = self.now() + timedelta(seconds=self.rate_limit.per_seconds)
            self.rate_limit.admit(self.now_ts(), reset.strftime("%Y-%m-%dT%H:%M:%S.000Z"))
        handler, params, exists = routes.match(method, path)
        if handler is None:
            if exists:
                raise JiraError(405, [f"Method {method} is not allowed on {path}"])
            raise JiraError(404, [f"null for uri: {base}{path}"])
        version = params.pop("v", "2")
        if version == "3" and not self.cloud:  # Data Center has REST v2 only
            raise JiraError(404, [f"null for uri: {base}{path}"])
        user = self.authenticate(headers)
        entry["user"] = user["accountId"] if user else None
        if user is None and handler.__name__ not in ANONYMOUS_OK:
            raise JiraError(401, [NOT_AUTHENTICATED])
        view = refdata.View(base, "2" if version == "latest" else version, self.cloud, user)
        req = Req(
            method, path, parse_qsl(query, keep_blank_values=True), headers, body, view, params
        )
        return handler(self, req)


class _Endpoint:
    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        request = Request(scope, receive)
        emu = self.emulator
        if emu.public_url:
            base = emu.public_url
        else:
            # The address the server accepted the connection on, never the Host header.
            host, port = scope.get("server") or ("127.0.0.1", 80)
            scheme = scope.get("scheme", "http")
            default = (scheme == "http" and port == 80) or (scheme == "https" and port == 443)
            base = f"{scheme}://{host}" + ("" if default else f":{port}")
        body = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        reply = await emu.handle(
            request.method, request.url.path, request.url.query, headers, body, base
        )
        content = b"" if request.method == "HEAD" else reply.encode()
        media = None if reply.status == 204 else reply.content_type
        await Response(content, reply.status, reply.headers, media_type=media)(scope, receive, send)


def create_app(
    *,
    mode: str = "cloud",
    seed: str = "demo",
    state_file: Path | None = None,
    clock: Clock | None = None,
    outbound_client: httpx.AsyncClient | None = None,
    public_url: str | None = None,
    speed: float = 1.0,
    auto_deliver: bool = False,
    random_seed: int = 0,
) -> Starlette:
    """A Jira emulator (``mode`` cloud or dc) as an ASGI app; ``app.state.emulator`` is the site.

    ``auto_deliver`` sends due webhooks once a second while the lifespan runs (the CLI turns
    it on; tests call ``deliver_due()`` or ``POST /_emulator/deliver`` instead).
    """
    emulator = Emulator(
        mode=mode,
        seed_name=seed,
        state_file=state_file,
        clock=clock,
        outbound=outbound_client,
        public_url=public_url,
        speed=speed,
        random_seed=random_seed,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if not auto_deliver:
            yield
            return
        async with anyio.create_task_group() as group:
            group.start_soon(_deliver_loop, emulator)
            yield
            group.cancel_scope.cancel()

    methods = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"]
    app = Starlette(
        routes=[Route("/{path:path}", _Endpoint(emulator), methods=methods)], lifespan=lifespan
    )
    app.state.emulator = emulator
    return app


async def _deliver_loop(emulator: Emulator) -> None:
    while True:
        await emulator.deliver_due()
        await anyio.sleep(1.0)
