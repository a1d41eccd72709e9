"""Ticket actions: requests per action for Autotask and Jira, and Autotask's server time.

The product runs against the Autotask emulator in-process, on a fresh SQLite database in a
temporary folder. Every request to the emulator goes through a timing transport, so the time
spent inside the emulator is subtracted from each action: what remains is ticketbridge's own
work (database, composition, connector). The zone and field metadata are warm, as in a running
service.

Targets (issue 5): a create costs at most 3 requests (mapping check, create, read back; the
idempotency search only after an ambiguous outcome), a resolve at most 4, a Run Checks page of
50 runs with tickets at most 1 validation request (0 while the last read is recent).

Then the connectors side by side, each against its emulator in-process: the requests each
operation costs as the services make them (create with the reconciliation search, resolve with
and without time entries, link by number, deleted detection, the get_tickets behind one Run
Checks page of linked runs), counted from the emulators' request logs; and the same Jira
operations through the real `jira` package against the Jira emulator on a loopback uvicorn.
Jira targets (issue 12): create at most 3 including the reconciliation search, resolve at
most 4 after the read.

    .venv/bin/python bench/ticket_lifecycle.py [--runs 50] [--connectors-only]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
warnings.filterwarnings("ignore", message="Using `httpx`")

from starlette.testclient import TestClient  # noqa: E402
from support import bench_settings  # noqa: E402
from support.psa_sides import print_side_by_side  # noqa: E402

from tests.factories import add_runs, add_user, login  # noqa: E402
from tests.services.autotask_world import AutotaskWorld  # noqa: E402
from tests.services.tickets.support import Clock, prepare  # noqa: E402
from ticketbridge.core.roles import Role  # noqa: E402
from ticketbridge.services.tickets import ticketing  # noqa: E402
from ticketbridge.storage.db import make_engine, make_session_factory  # noqa: E402
from ticketbridge.storage.migrate import upgrade  # noqa: E402
from ticketbridge.web.app import create_app  # noqa: E402

TARGETS = {"create": 3, "resolve": 4, "run checks page (links due)": 1}


class TimedTransport(httpx.BaseTransport):
    """Counts requests and the time spent inside the emulator."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.requests = 0
        self.seconds = 0.0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        start = time.perf_counter()
        try:
            return self.inner.handle_request(request)
        finally:
            self.seconds += time.perf_counter() - start
            self.requests += 1


def measure(transport: TimedTransport, action: Callable[[], Any]) -> tuple[int, float]:
    """(requests, server milliseconds excluding the emulator) for one action."""
    requests, emulator = transport.requests, transport.seconds
    start = time.perf_counter()
    action()
    total = time.perf_counter() - start
    return transport.requests - requests, (total - (transport.seconds - emulator)) * 1000


def report(name: str, samples: list[tuple[int, float]]) -> None:
    counts = [n for n, _ in samples]
    times = sorted(ms for _, ms in samples)
    p95 = times[max(0, int(len(times) * 0.95) - 1)]
    target = TARGETS.get(name)
    verdict = "" if target is None else ("  ok" if max(counts) <= target else "  OVER TARGET")
    print(
        f"{name:32} n={len(samples):3}  requests max {max(counts)} (mean "
        f"{statistics.mean(counts):.1f}; target {target if target is not None else '-'})"
        f"  server ms median {statistics.median(times):6.1f}  p95 {p95:6.1f}{verdict}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--connectors-only", action="store_true")
    args = parser.parse_args()
    if not args.connectors_only:
        service_figures(args.runs)
        print()
    print_side_by_side(args.runs)


def service_figures(runs: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        upgrade(url)
        settings = bench_settings(url, Path(folder))
        engine = make_engine(url)
        db = make_session_factory(engine)
        clock = Clock(datetime(2026, 11, 20, 12, 0, tzinfo=UTC))
        app = create_app(settings, engine=engine, clock=clock)
        runtime = app.state.ctx
        world = AutotaskWorld()
        transport = TimedTransport(world.transport)
        runtime.psa_transport = transport
        prepare(runtime, db)
        run_ids = add_runs(db, runs + 1, step=timedelta(hours=-1))
        ticketing.create(runtime, run_ids.pop(), actor="bench")  # warm zone and metadata

        creates = [
            measure(transport, lambda r=r: ticketing.create(runtime, r, actor="bench"))
            for r in run_ids
        ]
        add_user(db, "bench-admin", Role.ADMIN)
        pages: dict[str, list[tuple[int, float]]] = {"cached": [], "due": []}
        with TestClient(app) as client:
            login(client, "bench-admin")
            for _ in range(5):
                pages["cached"].append(measure(transport, lambda: client.get("/run-checks")))
                clock.advance(minutes=6)
                pages["due"].append(measure(transport, lambda: client.get("/run-checks")))
        resolves = [
            measure(transport, lambda r=r: ticketing.resolve(runtime, r, actor="bench"))
            for r in run_ids
        ]
        world.close()
        engine.dispose()

    print(f"ticket lifecycle, {runs} runs, SQLite, Autotask emulator in-process")
    report("create", creates)
    report("resolve", resolves)
    report("run checks page (links due)", pages["due"])
    report("run checks page (links cached)", pages["cached"])


if __name__ == "__main__":
    main()
