"""Ticket actions: requests per action for Autotask and Jira, through the product and per connector.

The product runs on a fresh SQLite database in a temporary folder with two connections:
Autotask, the ticketing default, and Jira, where one customer's run tickets go. Both emulators
run in-process behind the runtime's one PSA transport, which routes by host
(bench/support/psa_routing.py). Each action's requests are counted in the emulator's own
request log, cleared before the action; the time spent inside the emulators is subtracted, so
what remains is ticketbridge's own work (database, composition, connector). Caches are warm, as
in a running service: one ticket per kind is created and resolved before anything is counted.

Targets: Autotask (issue 5) a create at most 3 requests (mapping check, create, read back; the
idempotency search only after an ambiguous outcome), a resolve at most 4; Jira (issue 12) a
create at most 3 including the reconciliation search, a resolve at most 4; for both, a Run
Checks page with tickets at most 1 validation request per connection (0 while the last read is
recent). "create, answer lost" is a create whose answer never arrived although the PSA made the
ticket: the product finds it by its reference instead of sending the create again.

Then the connectors side by side, each against its emulator in-process: the requests each
operation costs as the services make them, counted from the emulators' request logs; and the
same Jira operations through the real `jira` package against the Jira emulator on a loopback
uvicorn (bench/support/psa_sides.py).

    .venv/bin/python bench/ticket_lifecycle.py [--runs 50] [--connectors-only]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
warnings.filterwarnings("ignore", message="Using `httpx`")

from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402
from support import bench_settings, load_note  # noqa: E402
from support.jira_product import JIRA_URL, JiraWorld, connect_jira  # noqa: E402
from support.psa_routing import AnswerLost, RoutedTransport, Timed  # noqa: E402
from support.psa_sides import print_side_by_side  # noqa: E402

from tests.factories import add_runs, add_user, login  # noqa: E402
from tests.services.autotask_world import EMULATOR_URL as AUTOTASK_URL  # noqa: E402
from tests.services.autotask_world import AutotaskWorld  # noqa: E402
from tests.services.tickets.support import Clock, current, log_time, prepare  # noqa: E402
from ticketbridge.core.roles import Role  # noqa: E402
from ticketbridge.services.runs import catalog  # noqa: E402
from ticketbridge.services.runtime import Runtime  # noqa: E402
from ticketbridge.services.tickets import ticketing  # noqa: E402
from ticketbridge.storage.db import make_engine, make_session_factory  # noqa: E402
from ticketbridge.storage.migrate import upgrade  # noqa: E402
from ticketbridge.storage.models import TicketLinkRow  # noqa: E402
from ticketbridge.web.app import create_app  # noqa: E402

KINDS = ("autotask", "jira")
JIRA_CUSTOMER = "Juniper Accounting"
LOST = 5  # creates whose answer is lost, per kind
AUTOTASK_CUSTOMER = "Acme Logistics"  # prepare() maps it in Autotask
PAGE = "run checks, runs view"  # one customer's runs (view=runs, 50 a page): one kind
QUEUE = "run checks queue (links due)"  # the default view, a row per job: both kinds
ROWS = (
    "create",
    "create, answer lost",
    "resolve",
    "resolve, time entries exist",
    f"{PAGE} (links due)",
    f"{PAGE} (links cached)",
    QUEUE,
)
TARGETS: dict[str, dict[str, int]] = {
    "create": {"autotask": 3, "jira": 3},
    "create, answer lost": {"jira": 3},
    "resolve": {"autotask": 4, "jira": 4},
    f"{PAGE} (links due)": {"autotask": 1, "jira": 1},
    f"{PAGE} (links cached)": {"autotask": 0, "jira": 0},
    QUEUE: {"autotask": 1, "jira": 1},
}
# Requests an action pays for now and then, whoever sends them, and why.
OCCASIONAL = {
    "ThresholdInformation": "Autotask's hourly budget, re-read by the request governor every "
    "100 requests or 5 minutes (core/psa_governor.py) within whichever action comes next",
}
# Where each kind's create is sent, for losing its answer.
CREATE_PATHS = {"autotask": "/Tickets", "jira": "/rest/api/3/issue"}


@dataclass
class Emulated:
    """One emulator the product reaches: its transports and its request log."""

    kind: str
    lossy: AnswerLost
    timed: Timed
    requests: Callable[[], list[dict[str, Any]]]
    forget: Callable[[], None]


@dataclass
class Figures:
    """Samples per row and kind: (requests, ms), and the requests of the costliest sample."""

    samples: dict[tuple[str, str], list[tuple[int, float]]] = field(default_factory=dict)
    costliest: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    def add(self, row: str, kind: str, count: int, ms: float, lines: list[str]) -> None:
        found = self.samples.setdefault((row, kind), [])
        if not found or count > max(n for n, _ in found):
            self.costliest[(row, kind)] = lines
        found.append((count, ms))


def measure(
    emulated: Sequence[Emulated],
    figures: Figures,
    row: str,
    action: Callable[[], Any],
    kinds: Sequence[str] | None = None,
) -> None:
    """Run ``action`` once; record the requests of each kind in ``kinds`` (None: each kind it
    reached) and ticketbridge's own milliseconds."""
    for each in emulated:
        each.forget()
    inside = sum(e.timed.seconds for e in emulated)
    start = time.perf_counter()
    action()
    total = time.perf_counter() - start
    ms = (total - (sum(e.timed.seconds for e in emulated) - inside)) * 1000
    for each in emulated:
        sent = [f"{r['method']} {r['path']}" for r in each.requests()]
        if (kinds is None and sent) or (kinds is not None and each.kind in kinds):
            figures.add(row, each.kind, len(sent), ms, sent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--connectors-only", action="store_true")
    args = parser.parse_args()
    if not args.connectors_only:
        service_figures(args.runs)
        print()
    print_side_by_side(args.runs)


def _customer_id(runtime: Runtime, name: str) -> int:
    with runtime.session_factory() as session:
        return next(c.id for c in catalog.list_customers(session) if c.name == name)


def _ticket_id(runtime: Runtime, run_id: int) -> int:
    link = current(runtime, run_id)
    assert link is not None and link.ticket_id is not None, f"run {run_id} has no ticket"
    return int(link.ticket_id)


def _read_at(runtime: Runtime, kind: str, moment: datetime) -> int:
    """How many of the kind's tickets were read at ``moment`` (a page's validation)."""
    with runtime.session_factory() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(TicketLinkRow)
                .where(TicketLinkRow.kind == kind, TicketLinkRow.last_status_at == moment)
            )
            or 0
        )


def service_figures(runs: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        upgrade(url)
        engine = make_engine(url)
        clock = Clock(datetime(2026, 11, 20, 12, 0, tzinfo=UTC))
        app = create_app(bench_settings(url, Path(folder)), engine=engine, clock=clock)
        product = Product(app, make_session_factory(engine), clock, AutotaskWorld(), JiraWorld())
        try:
            figures, read = product.lifecycle(runs)
        finally:
            product.close()
            engine.dispose()
    _print(runs, figures, read)


class Product:
    """The product with its two connections, each emulator behind the routed transport."""

    def __init__(
        self,
        app: Any,
        db: sessionmaker[Session],
        clock: Clock,
        autotask: AutotaskWorld,
        jira: JiraWorld,
    ) -> None:
        self.app, self.db, self.clock = app, db, clock
        self.runtime: Runtime = app.state.ctx
        self.autotask, self.jira = autotask, jira
        self.emulated = [
            _emulated("autotask", autotask.transport, autotask.requests, autotask.forget_requests),
            _emulated("jira", jira.transport, jira.requests, jira.forget_requests),
        ]
        hosts = (httpx.URL(AUTOTASK_URL).host, httpx.URL(JIRA_URL).host)
        self.runtime.psa_transport = RoutedTransport(
            {host: each.timed for host, each in zip(hosts, self.emulated, strict=True)}
        )
        self.figures = Figures()

    def close(self) -> None:
        self.autotask.close()
        self.jira.close()

    def create(self, run_id: int) -> None:
        ticketing.create(self.runtime, run_id, actor="bench")

    def resolve(self, run_id: int) -> None:
        ticketing.resolve(self.runtime, run_id, actor="bench")

    def measure(
        self, row: str, action: Callable[[], Any], kinds: Sequence[str] | None = None
    ) -> None:
        measure(self.emulated, self.figures, row, action, kinds)

    def lifecycle(self, runs: int) -> tuple[Figures, dict[str, int]]:
        """Set up both connections, then create, show, resolve and create with answers lost;
        the figures, and how many tickets of each kind a due page read."""
        runtime = self.runtime
        prepare(runtime, self.db)  # Autotask, the ticketing default; Acme Logistics mapped
        each = runs + 1 + LOST
        # Newest first: the warm-up and lost-answer runs are the newest, so the page of the
        # oldest runs shows exactly the measured creates' tickets.
        run_ids = {
            "autotask": add_runs(self.db, each, step=timedelta(hours=-1)),
            "jira": add_runs(
                self.db, each, customer=JIRA_CUSTOMER, job_name="Ledger Backup",
                step=timedelta(hours=-1),
            ),
        }  # fmt: skip
        customers = {"autotask": _customer_id(runtime, AUTOTASK_CUSTOMER)}
        customers["jira"] = _customer_id(runtime, JIRA_CUSTOMER)
        connect_jira(runtime, customers["jira"], "https://tb.example.com")
        lost = {kind: [run_ids[kind].pop(0) for _ in range(LOST)] for kind in KINDS}
        for kind in KINDS:  # warm: metadata, zone, project types, transitions
            warm = run_ids[kind].pop(0)
            self.create(warm)
            self.resolve(warm)
        for kind in KINDS:
            for run_id in run_ids[kind]:
                self.measure("create", partial(self.create, run_id))
        read = self.pages(customers)
        for kind in KINDS:
            for index, run_id in enumerate(run_ids[kind]):
                row = "resolve"
                if index % 2:
                    row = "resolve, time entries exist"
                    self.log_work(kind, _ticket_id(runtime, run_id))
                self.measure(row, partial(self.resolve, run_id))
        for emulated in self.emulated:
            for run_id in lost[emulated.kind]:
                emulated.lossy.lose_next("POST", CREATE_PATHS[emulated.kind])
                self.measure("create, answer lost", partial(self.create, run_id))
                _ticket_id(runtime, run_id)  # found by its reference, not left unknown
        return self.figures, read

    def pages(self, customers: dict[str, int]) -> dict[str, int]:
        """Run Checks as an admin: each customer's runs (a page of 50, one kind's tickets),
        links fresh then due, and the queue (a row per job, both kinds); how many tickets of
        each kind a due page read."""
        add_user(self.db, "bench-admin", Role.ADMIN)
        read = {}
        with TestClient(self.app) as client:
            login(client, "bench-admin")

            def show(page: str) -> None:
                answer = client.get(page)
                assert answer.status_code == 200, f"{page}: {answer.status_code}"

            for kind in KINDS:
                page = f"/run-checks?view=runs&customer_id={customers[kind]}"
                show(page)  # the links read now, as after a first look
                for _ in range(5):
                    self.measure(f"{PAGE} (links cached)", partial(show, page), [kind])
                    self.clock.advance(minutes=6)
                    self.measure(f"{PAGE} (links due)", partial(show, page), [kind])
                read[kind] = _read_at(self.runtime, kind, self.clock.now)
            for _ in range(5):
                self.clock.advance(minutes=6)
                self.measure(QUEUE, partial(show, "/run-checks"), KINDS)
        return read

    def log_work(self, kind: str, ticket_id: int) -> None:
        if kind == "autotask":
            log_time(self.autotask, ticket_id)
        else:
            self.jira.log_work(ticket_id)


def _emulated(
    kind: str,
    raw: httpx.BaseTransport,
    requests: Callable[[], list[dict[str, Any]]],
    forget: Callable[[], None],
) -> Emulated:
    lossy = AnswerLost(raw)
    return Emulated(kind, lossy, Timed(lossy), requests, forget)


def _cell(samples: list[tuple[int, float]] | None, target: int | None) -> str:
    if not samples:
        return f"{'-':>36}"
    counts = [n for n, _ in samples]
    times = sorted(ms for _, ms in samples)
    p95 = times[min(len(times), math.ceil(len(times) * 0.95)) - 1]
    verdict = "" if target is None else ("ok" if max(counts) <= target else "OVER")
    goal = "-" if target is None else f"<={target} {verdict}"
    return (
        f"{max(counts):>3} ({statistics.mean(counts):3.1f}) {goal:>9}"
        f" {statistics.median(times):6.1f} {p95:6.1f} {len(samples):>3}"
    )


def _print(runs: int, figures: Figures, read: dict[str, int]) -> None:
    print(
        f"ticket lifecycle through the product, SQLite, {runs} runs per kind: two connections, "
        "Autotask (the ticketing default) and Jira (one customer's run tickets), both "
        f"emulators in-process; {load_note()}"
    )
    print(
        "requests: max (mean) per action, from each emulator's request log; target; "
        "ticketbridge's own ms (emulator time subtracted) median, p95; n"
    )
    head = f"{'req (mean)':>9} {'target':>9} {'med ms':>6} {'p95 ms':>6} {'n':>3}"
    print(f"{'':37} {'autotask':<36} | {'jira':<36}")
    print(f"{'operation':37} {head} | {head}")
    for row in ROWS:
        cells = [_cell(figures.samples.get((row, k)), TARGETS.get(row, {}).get(k)) for k in KINDS]
        print(f"{row:37} {cells[0]} | {cells[1]}")
    print(
        f"a due '{PAGE}' page read "
        + " and ".join(f"{read.get(k, 0)} {k}" for k in KINDS)
        + " tickets (in one request each); the queue shows 5 runs a job, both kinds"
    )
    explained = set()
    for (row, kind), lines in sorted(figures.costliest.items()):
        target = TARGETS.get(row, {}).get(kind)
        occasional = {name for name in OCCASIONAL if any(name in line for line in lines)}
        if occasional or (target is not None and len(lines) > target):
            over = "over target" if target is not None and len(lines) > target else "costliest"
            print(f"  {over}, {kind} {row}: " + ", ".join(lines))
            explained |= occasional
    for name in sorted(explained):
        print(f"  {name}: {OCCASIONAL[name]}")


if __name__ == "__main__":
    main()
