"""The ledger under load, as the user meets it (issue 9): the product served by uvicorn on a
loopback port, real HTTP clients clicking and reporting at once, Autotask played by the emulator
on another loopback port and made slow by a latency fault.

- 100 concurrent create clicks on 50 runs (two per run) while Autotask takes 3 s per create:
  every click answers 201, 202 or 409, never a 5xx, and exactly one click per run gets through;
  the inbox and the health check answer 200
  meanwhile; once everything is settled the emulator holds exactly one ticket per run, each
  run linked to its own.
- 50 concurrent run batches racing on new customers, jobs and external ids: every batch is
  stored (200), never a 5xx, and the database holds one run per distinct external id.

No timing is asserted; the slowest side answer is printed (``pytest -s``) for the record.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette

from tests.factories import NOW, add_runs, add_token, run_payload
from tests.services.autotask_world import BASE_URL, add_customers, configure
from tests.services.tickets.support import BRIGHTWATER, DEFAULTS, Clock
from ticketbridge.core.roles import Role
from ticketbridge.core.ticket_content import run_reference
from ticketbridge.core.ticket_links import LinkState
from ticketbridge.emulators.autotask import create_app as create_emulator
from ticketbridge.services.connections import mapping, reference
from ticketbridge.services.connections import settings as integration_settings
from ticketbridge.services.runtime import Runtime, build_runtime
from ticketbridge.services.tickets import store, ticketing
from ticketbridge.services.tickets.draft import installation_of
from ticketbridge.settings import Settings
from ticketbridge.storage.models import Run, TicketLinkRow, utcnow
from ticketbridge.web.app import create_app

RUNS = 50
CLICKS_PER_RUN = 2
BATCHES = 50
RUNS_PER_BATCH = 20
# Autotask takes this long per ticket create while the clicks arrive: longer than the click's
# wait (ticket_action_wait_seconds, 1 s), so clicks answer 202 and the creates go on.
CREATE_LATENCY_SECONDS = 3
STARTUP_SECONDS = 20.0
SETTLE_ROUNDS = 5


# --- serving on loopback ---------------------------------------------------------------------


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """``app`` served by uvicorn on a free loopback port in a thread; its base URL.

    The socket is bound and listening before the server starts, so a request sent early
    waits in the backlog; the bounded wait for ``started`` only turns a failed start-up
    (the lifespan raised) into a clear error instead of a hung test."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(512)
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", lifespan="on", timeout_keep_alive=30)
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError("uvicorn did not start")
        thread.join(timeout=0.01)  # waits on the thread: returns early if start-up failed
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


@dataclass
class Emulator:
    app: Starlette
    url: str
    admin: httpx.Client

    def fault(self, **spec: Any) -> None:
        self.admin.post("/_emulator/faults", json=spec).raise_for_status()

    def clear_faults(self) -> None:
        self.admin.delete("/_emulator/faults").raise_for_status()

    def our_tickets(self) -> list[dict[str, Any]]:
        """Tickets carrying a run reference. Read once everything is settled, so the emulator's
        event loop is not writing meanwhile."""
        rows = self.app.state.emulator.store.tables["tickets"].values()
        return [dict(r) for r in rows if str(r.get("externalID") or "").startswith("run-")]


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    app = create_emulator(seed="demo")
    with serve(app) as url, httpx.Client(base_url=url, timeout=30) as admin:
        yield Emulator(app, url, admin)


@dataclass
class Product:
    url: str
    headers: dict[str, str]
    stop_actions: Callable[[], None]  # waits for every ticket action still running


def _prepare(runtime: Runtime, db: sessionmaker[Session], emulator_url: str) -> None:
    """tests/services/tickets/support.prepare, with the emulator at a real URL: the integration
    configured, reference data loaded, ticket defaults saved, the runs' customer mapped."""
    configure(runtime, api_host=emulator_url)
    reference.refresh(runtime, actor="test")
    with runtime.session_factory() as session:
        integration_settings.save(
            session, runtime.secret_box, DEFAULTS, actor="test", now=NOW, kind="autotask"
        )
        session.commit()
    [customer_id] = add_customers(db, "Acme Logistics")
    mapping.map_customer(runtime, customer_id, BRIGHTWATER, actor="test")


@pytest.fixture
def product(settings: Settings, db: sessionmaker[Session], emulator: Emulator) -> Iterator[Product]:
    """The product as ``ticketbridge serve`` runs it: its own engine with the pool sized from
    its thread settings (build_runtime), Autotask configured against the emulator's URL."""
    app = create_app(settings)
    runtime = app.state.ctx
    try:
        _prepare(runtime, db, emulator.url)
        token = add_token(db, Role.OPERATOR)
        with serve(app) as url:
            headers = {"Authorization": f"Bearer {token}"}
            yield Product(url, headers, app.state.ticket_actions.shutdown)
    finally:
        runtime.engine.dispose()


# --- side traffic ------------------------------------------------------------------------------


@dataclass
class SideTraffic:
    """Other pages, asked again and again while the load runs: every answer and the slowest."""

    url: str
    headers: dict[str, str]
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    slowest: tuple[float, str] = (0.0, "")
    errors: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        with httpx.Client(base_url=self.url, headers=self.headers, timeout=60) as client:
            while not self._stop.is_set():
                for path in ("/api/v1/inbox", "/healthz"):
                    start = time.perf_counter()
                    try:
                        status = client.get(path).status_code
                    except httpx.HTTPError as exc:
                        self.errors.append(f"GET {path}: {exc!r}")
                        continue
                    took = time.perf_counter() - start
                    self.statuses[(path, status)] += 1
                    self.slowest = max(self.slowest, (took, path))

    @contextmanager
    def running(self) -> Iterator[SideTraffic]:
        thread = threading.Thread(target=self.run, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join(timeout=60)


# --- the tests ---------------------------------------------------------------------------------


def _post_all(url: str, headers: dict[str, str], calls: list[tuple[str, Any]]) -> list[Any]:
    """POST every (path, body) at the same moment, one thread each; (status, json) each."""
    barrier = threading.Barrier(len(calls))
    limits = httpx.Limits(max_connections=len(calls), max_keepalive_connections=len(calls))
    with httpx.Client(base_url=url, headers=headers, timeout=120, limits=limits) as client:

        def post(call: tuple[str, Any]) -> tuple[int, Any]:
            path, body = call
            barrier.wait(timeout=30)
            response = client.post(path, json=body)
            try:
                payload = response.json()
            except ValueError:
                payload = response.text
            return response.status_code, payload

        with ThreadPoolExecutor(max_workers=len(calls)) as pool:
            return list(pool.map(post, calls))


def test_concurrent_create_clicks_on_a_slow_autotask_answer_without_5xx_and_make_one_ticket_each(
    product: Product,
    emulator: Emulator,
    settings: Settings,
    engine: Engine,
    db: sessionmaker[Session],
) -> None:
    run_ids = add_runs(db, RUNS)
    emulator.fault(
        kind="latency", seconds=CREATE_LATENCY_SECONDS, count=None,
        methods=["POST"], path_contains="/V1.0/Tickets",
    )  # fmt: skip
    clicks = [(f"/api/v1/runs/{run_id}/ticket", None) for run_id in run_ids] * CLICKS_PER_RUN

    with SideTraffic(product.url, product.headers).running() as side:
        answers = _post_all(product.url, product.headers, clicks)
    by_status = Counter(status for status, _ in answers)
    print(
        f"\nclick answers {dict(by_status)}; slowest side answer during the clicks: "
        f"{side.slowest[0] * 1000:.0f} ms ({side.slowest[1]}); side answers {dict(side.statuses)}"
    )

    server_errors = [(s, body) for s, body in answers if s >= 500]
    assert not server_errors, server_errors[:5]
    assert set(by_status) <= {201, 202, 409}, [a for a in answers if a[0] not in {201, 202, 409}]
    assert not side.errors, side.errors[:5]
    assert side.statuses, "no side request was answered during the clicks"
    assert {status for _path, status in side.statuses} == {200}, side.statuses
    assert {path for path, _status in side.statuses} == {"/api/v1/inbox", "/healthz"}
    # Exactly one click of each run got through (201, or 202 while Autotask is slow); the other
    # was told a ticket is being created.
    per_run: dict[int, list[int]] = {}
    for (path, _body), (status, _answer) in zip(clicks, answers, strict=True):
        per_run.setdefault(int(path.split("/")[4]), []).append(status)
    assert all(sorted(s)[-1] == 409 and sorted(s)[0] in {201, 202} for s in per_run.values())
    refused = [body for s, body in answers if s == 409]
    assert all("being created" in body["error"]["message"] for body in refused), refused[:3]

    # Settle: Autotask fast again, every click's action finished, then the periodic job until
    # nothing is creating (its clock moved past the quiet period between rounds).
    emulator.clear_faults()
    product.stop_actions()
    clock = Clock(utcnow())
    job = build_runtime(settings, engine=engine, clock=clock)
    for _round in range(SETTLE_ROUNDS):
        ticketing.settle_pending(job)
        with db() as session:
            creating = session.scalar(
                select(func.count())
                .select_from(TicketLinkRow)
                .where(TicketLinkRow.state == LinkState.CREATING.value)
            )
        if not creating:
            break
        clock.advance(minutes=6)
    assert not creating, f"{creating} links still creating after {SETTLE_ROUNDS} settle rounds"

    tickets = emulator.our_tickets()
    references = Counter(str(t["externalID"]) for t in tickets)
    expected = {run_id: run_reference(run_id, installation_of(BASE_URL)) for run_id in run_ids}
    assert sorted(references) == sorted(expected.values())
    assert set(references.values()) == {1}, "a run got more than one ticket"
    by_reference = {str(t["externalID"]): t for t in tickets}
    with db() as session:
        current = store.current_for_runs(session, run_ids)
    assert sorted(current) == sorted(run_ids)
    for run_id, link in current.items():
        assert link.state == LinkState.ACTIVE.value, (run_id, link.state, link.last_error)
        assert link.reference == expected[run_id]
        assert link.ticket_id == by_reference[link.reference]["id"]


def _batches() -> list[tuple[str, Any]]:
    """50 batches of 20: each shares half its external ids with the next batch, and all use
    five new customers with two jobs each, so concurrent writers race on every unique key."""
    calls = []
    for batch in range(BATCHES):
        items = []
        for slot in range(RUNS_PER_BATCH):
            serial = batch * RUNS_PER_BATCH // 2 + slot
            items.append(
                run_payload(
                    customer=f"Load Customer {serial % 5}",
                    job_name=f"Load Job {serial % 2}",
                    external_id=f"load-{serial:05d}",
                    started_at=f"2026-11-{1 + serial % 28:02d}T01:00:00+00:00",
                )
            )
        # Operators' runs create no customers unless asked: these race to create them.
        calls.append(("/api/v1/runs?create_customers=true", {"runs": items}))
    return calls


def test_concurrent_run_batches_race_on_unique_keys_without_5xx(
    product: Product, db: sessionmaker[Session]
) -> None:
    calls = _batches()
    sent = {item["external_id"] for _path, body in calls for item in body["runs"]}

    with SideTraffic(product.url, product.headers).running() as side:
        answers = _post_all(product.url, product.headers, calls)
    print(f"\nslowest side answer during the batches: {side.slowest[0] * 1000:.0f} ms")

    bad = [
        (f"batch {i}", status, body) for i, (status, body) in enumerate(answers) if status != 200
    ]
    assert not bad, bad[:5]
    assert {status for _path, status in side.statuses} == {200}, side.statuses
    # One run per external id, whichever batch stored it; every batch names the same run.
    run_of: dict[str, set[int]] = {}
    for (_path, body), (_status, answer) in zip(calls, answers, strict=True):
        assert len(answer["items"]) == RUNS_PER_BATCH
        for item, out in zip(body["runs"], answer["items"], strict=True):
            run_of.setdefault(item["external_id"], set()).add(out["run_id"])
    assert all(len(ids) == 1 for ids in run_of.values())
    assert sum(answer["created"] for _status, answer in answers) == len(sent)
    with db() as session:
        stored = session.scalar(select(func.count()).select_from(Run))
    assert stored == len(sent)
