"""The ASGI app: ``create_app`` and the :class:`Emulator` that holds one tenant's state."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from random import Random
from typing import Any

import anyio
import httpx
from starlette.applications import Starlette
from starlette.routing import Route

from . import admin, api, dates, hooks, persistence, seed, ticket_page
from .asgi import MAX_BODY_BYTES, AsgiEndpoint, public_base_url
from .auth import ApiUser, authenticate, coerce_users, find_user
from .errors import ApiError, DropConnection, no_route
from .faults import FaultBook
from .limits import LimitSettings, RequestCounter, ThreadLimiter
from .wire import Call, Reply
from .writes import WriteContext

Clock = Callable[[], datetime]
Sleep = Callable[[float], Awaitable[None]]
Outbound = httpx.Client | httpx.AsyncClient | httpx.BaseTransport | httpx.AsyncBaseTransport
ZONE_ERROR = {"errors": ["Zone information could not be determined"]}
MAX_URL_LENGTH = 2048
WRITE_METHODS = {"POST", "PATCH", "PUT", "DELETE"}
REQUEST_LOG_LIMIT = 50_000


def _client(outbound: Outbound | None) -> httpx.Client | httpx.AsyncClient | None:
    if outbound is None or isinstance(outbound, httpx.Client | httpx.AsyncClient):
        return outbound
    if isinstance(outbound, httpx.AsyncBaseTransport):
        return httpx.AsyncClient(transport=outbound)
    return httpx.Client(transport=outbound)


class Emulator:
    def __init__(
        self,
        *,
        seed_name: str,
        state_file: Path | None,
        speed: float,
        api_users: Sequence[ApiUser | Mapping[str, Any]] | None,
        clock: Clock | None,
        random_seed: int,
        outbound: Outbound | None,
        sleep: Sleep | None,
        public_url: str | None = None,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.public_url = public_base_url(public_url) if public_url else None
        self.seed_name = seed_name
        self.state_file = state_file
        self.speed = speed
        self.users = coerce_users(api_users)
        self._clock = clock or (lambda: datetime.now(UTC))
        self.clock_offset = 0.0
        self.random_seed = random_seed
        self.sleep: Sleep = sleep or anyio.sleep
        self.outbox = hooks.Outbox(client=_client(outbound))
        self.limit_settings = LimitSettings()
        self.counter = RequestCounter(self.limit_settings)
        self.threads = ThreadLimiter(self.limit_settings)
        self.base_url = self.public_url or "http://127.0.0.1:8765"
        loaded = persistence.load(state_file) if state_file else None
        self.store = loaded or seed.build(seed_name, self.now(), self.users)
        self._reset_runtime()
        self.persist()

    # --- time -----------------------------------------------------------------------------
    def now(self) -> datetime:
        moment = self._clock()
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment + timedelta(seconds=self.clock_offset)

    def now_ts(self) -> float:
        return self.now().timestamp()

    def now_text(self) -> str:
        return dates.fmt(self.now())

    # --- state ----------------------------------------------------------------------------
    def _reset_runtime(self) -> None:
        self.rng = Random(self.random_seed)
        self.faults = FaultBook(Random(self.random_seed + 1))
        self.counter.clear()
        self.requests: list[dict[str, Any]] = []
        self.request_total = 0
        self.attachment_uploads: list[tuple[float, int]] = []
        self.outbox.pending.clear()
        self.outbox.log.clear()

    def reset(self, seed_name: str | None = None) -> None:
        self.seed_name = seed_name or self.seed_name
        self.store = seed.build(self.seed_name, self.now(), self.users)
        self._reset_runtime()
        self.persist()

    def load_seed(self, seed_name: str) -> None:
        self.store = seed.build(seed_name, self.now(), self.users)
        self.persist()

    def persist(self) -> None:
        if self.state_file is not None:
            persistence.save(self.state_file, self.store)

    def commit(self, ctx: WriteContext) -> None:
        """A write went through: queue its callbacks and save the state."""
        domain = httpx.URL(self.base_url).host or "localhost"
        hooks.ticket_events(
            self.outbox,
            self.store,
            ctx.events,
            ctx.acting_resource,
            self.now_ts(),
            domain,
            self.speed,
        )
        self.persist()

    async def deliver_due(self) -> list[dict[str, Any]]:
        results = await self.outbox.deliver_due(self.store, self.now_ts(), self.now_text())
        if results:
            self.persist()
        return results

    # --- requests -------------------------------------------------------------------------
    async def handle(self, call: Call) -> Reply:
        low = [s.lower() for s in call.segments]
        if low[:1] == ["_emulator"]:
            try:
                return await admin.handle(self, call, call.segments[1:])
            except ApiError as exc:
                return Reply(exc.status, exc.body, exc.headers)
        if low[:1] == ["autotask"]:  # the web UI's address, not the API: a read-only page
            return ticket_page.handle(self, call, low)
        self.base_url = call.base_url
        entry = {
            "seq": self.request_total + 1,
            "method": call.method,
            "path": call.path,
            "query": dict(call.query),
            "at": self.now_text(),
            "status": None,
            "user": call.headers.get("username"),
            "dropped": False,
            "body": call.body.decode("utf-8", "replace")[:65536],
        }
        self.request_total += 1
        self.requests.append(entry)
        if len(self.requests) > REQUEST_LOG_LIMIT:
            del self.requests[: len(self.requests) - REQUEST_LOG_LIMIT]
        try:
            reply = await self._api(call, low)
        except ApiError as exc:
            reply = Reply(exc.status, exc.body, exc.headers)
        except DropConnection:
            entry["dropped"] = True
            raise
        entry["status"] = reply.status
        return reply

    async def _api(self, call: Call, low: list[str]) -> Reply:
        if low[:1] != ["atservicesrest"] or len(low) < 2:
            raise no_route(call.path)
        rest = low[1:]
        discovery = rest == ["versioninformation"] or rest[1:2] == ["zoneinformation"]
        is_write = call.method in WRITE_METHODS and "query" not in rest
        args = (call.method, call.path, is_write, discovery)
        if self.faults.take("drop", *args, when="before_commit"):
            raise DropConnection
        fired = self.faults.take("status", *args, when="before_commit")
        if fired:
            raise fired[0].error()
        if rest == ["versioninformation"]:
            return Reply(body={"apiVersions": ["1.0"]})
        if rest[0] != "v1.0" or len(rest) < 2:
            raise no_route(call.path)
        if rest[1] == "zoneinformation":
            return self._zone(call)
        if call.url_length > MAX_URL_LENGTH:
            raise ApiError(404, "<h2>404 - File or directory not found.</h2>")
        user = authenticate(self.users, call.headers)
        delay = self.counter.admit(self.now_ts(), self.speed)
        key = self.threads.acquire(user.integration_code, rest[1])
        try:
            for fault in self.faults.take("latency", *args):
                delay += fault.seconds
            if delay > 0:
                await self.sleep(delay)
            reply = api.route(self, call, user, call.segments[2:])
        finally:
            self.threads.release(key)
        if reply.status == 200 and self.faults.take("drop", *args, when="after_commit"):
            raise DropConnection
        if reply.status == 200:
            fired = self.faults.take("status", *args, when="after_commit")
            if fired:
                raise fired[0].error()
        return reply

    def _zone(self, call: Call) -> Reply:
        user = call.query.get("user", "")
        if not user or find_user(self.users, user) is None:
            raise ApiError(500, ZONE_ERROR)
        return Reply(
            body={
                "zoneName": self.store.tenant.get("zone_name", "EMU1"),
                # The configured public URL (or the server's own address), never the Host
                # header: a client must not be able to send the next one elsewhere.
                "url": f"{call.base_url}/ATServicesRest/",
                "webUrl": f"{call.base_url}/",
                "ci": int(self.store.tenant.get("ci", 8675309)),
            }
        )


def create_app(
    *,
    seed: str = "demo",
    state_file: Path | None = None,
    speed: float = 1.0,
    api_users: Sequence[ApiUser | Mapping[str, Any]] | None = None,
    clock: Clock | None = None,
    random_seed: int = 0,
    outbound_client: Outbound | None = None,
    sleep: Sleep | None = None,
    auto_deliver: bool = False,
    public_url: str | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> Starlette:
    """An Autotask REST API emulator for one tenant, as an ASGI app.

    ``app.state.emulator`` is the :class:`Emulator` (tests may call its methods directly).
    ``auto_deliver`` starts a loop that sends due webhooks and callouts every second of real
    time while the app's lifespan runs (the CLI turns it on; tests call deliver instead).
    ``public_url`` (``http://host:port``) is the base that zone discovery and next-page URLs
    give out; by default the address the server accepted the connection on (the ASGI scope's
    ``server``), never the client's Host header. Bodies over ``max_body_bytes`` get a 413.
    """
    if max_body_bytes < 1:
        raise ValueError("max_body_bytes must be positive")
    emulator = Emulator(
        seed_name=seed,
        state_file=state_file,
        speed=speed,
        api_users=api_users,
        clock=clock,
        random_seed=random_seed,
        outbound=outbound_client,
        sleep=sleep,
        public_url=public_url,
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

    endpoint = AsgiEndpoint(emulator, max_body_bytes)
    app = Starlette(routes=[Route("/{path:path}", endpoint)], lifespan=lifespan)
    app.state.emulator = emulator
    return app


async def _deliver_loop(emulator: Emulator) -> None:
    while True:
        await emulator.deliver_due()
        await anyio.sleep(1.0)
