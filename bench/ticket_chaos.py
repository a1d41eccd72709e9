"""Ticket creates under chaos: two workers, double clicks, a faulty and slow Autotask (issue 9).

200 runs of one mapped customer. The product runs as two worker processes (uvicorn, one
database), the Autotask emulator on a loopback port in this process. Operators double-click
Create on every run: the two clicks of a run go to the two workers at the same moment, ten
operators at a time. Ticket creates meet, at random (seeded):

- 30% latency beyond the create timeout (Autotask commits the ticket after the product gave
  up: outcome unknown),
- 20% committed, then the connection dropped (outcome unknown),
- 15% a plain 503 with Retry-After, 10% a 429 with Retry-After (refused before processing),

and the emulator's own limit of 3 requests in flight per endpoint, which two workers with a
governor each can exceed. Then the workers stop (the clicks' actions still queued or running
finish first, under the same faults), the faults are lifted, and the periodic settle job runs
until nothing is creating, its clock moved past the quiet period between rounds.

Printed: tickets in the emulator, duplicates (references with more than one ticket), unlinked
runs, 5xx answers to clicks, the click answer time p50/p95/p99, Autotask requests per ticket,
and the load average. Target: 0 duplicates, 0 unlinked runs, 0 5xx answers, p99 under 1 s.

    .venv/bin/python bench/ticket_chaos.py [--runs 200] [--database-url postgresql+psycopg://...]

SQLite by default; ``--database-url`` names a PostgreSQL database in which a schema of its own
is created and dropped. The connector's create timeout is not a setting yet (60 s), so the
workers cut it to ``--create-timeout`` in their transport (bench/support/chaos_worker.py).
"""

from __future__ import annotations

import argparse
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
warnings.filterwarnings("ignore", message="Using `httpx`")

from support import bench_settings, fresh_database, load_note  # noqa: E402

from tests.factories import NOW, add_runs, add_token  # noqa: E402
from tests.services.autotask_world import BASE_URL, add_customers, configure  # noqa: E402
from tests.services.tickets.support import BRIGHTWATER, DEFAULTS  # noqa: E402
from ticketbridge.core.roles import Role  # noqa: E402
from ticketbridge.core.ticket_content import run_reference  # noqa: E402
from ticketbridge.core.ticket_links import LinkState  # noqa: E402
from ticketbridge.emulators.autotask import create_app as create_emulator  # noqa: E402
from ticketbridge.services.connections import mapping, reference  # noqa: E402
from ticketbridge.services.connections import settings as integration_settings  # noqa: E402
from ticketbridge.services.runtime import build_runtime  # noqa: E402
from ticketbridge.services.tickets import store, ticketing  # noqa: E402
from ticketbridge.services.tickets.draft import installation_of  # noqa: E402
from ticketbridge.storage.models import AuditEvent, utcnow  # noqa: E402

WORKER = Path(__file__).resolve().parent / "support" / "chaos_worker.py"
CREATES = {"methods": ["POST"], "path_contains": "/V1.0/Tickets", "writes_only": True}
SETTLE_ROUNDS = 6
SETTLE_STEP = timedelta(minutes=12)  # past the quiet period and the longest call


def faults(create_timeout: float) -> list[dict[str, Any]]:
    # The emulator checks drops and error answers before the write, then latency, then the
    # write, then drops after it; each fault draws from the seeded generator on its own.
    return [
        {"kind": "status", "status": 503, "retry_after": 1, "probability": 0.15},
        {"kind": "status", "status": 429, "retry_after": 1, "probability": 0.10},
        {"kind": "latency", "seconds": create_timeout + 2, "probability": 0.30},
        {"kind": "drop", "when": "after_commit", "probability": 0.20},
    ]


class ShiftedClock:
    """Wall time moved forward by the settle job, as if minutes had passed."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return utcnow() + self.offset


# --- processes and servers ---------------------------------------------------------------------


def _listening_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(512)
    return sock


@contextmanager
def serve_in_thread(app: Any) -> Iterator[str]:
    """The emulator on a loopback port; requests sent before it starts wait in the backlog.
    Its log stays quiet: every injected drop would print a traceback."""
    sock = _listening_socket()
    server = uvicorn.Server(uvicorn.Config(app, log_level="critical", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


@dataclass
class Worker:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> int:
        """Graceful stop: running ticket actions finish first. The exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=180)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


@contextmanager
def worker(database_url: str, folder: Path, name: str, create_timeout: float) -> Iterator[Worker]:
    sock = _listening_socket()
    log = folder / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable, str(WORKER), "--fd", str(sock.fileno()),
                "--database-url", database_url, "--var-dir", str(folder / name),
                "--create-timeout", str(create_timeout),
            ],
            pass_fds=[sock.fileno()], stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    found = Worker(f"http://127.0.0.1:{sock.getsockname()[1]}", process, log)
    sock.close()  # the worker holds its own copy
    try:
        # Answered once the app is up; until then the request waits in the backlog.
        httpx.get(f"{found.url}/healthz", timeout=60).raise_for_status()
        yield found
    finally:
        found.stop()


# --- the clicks --------------------------------------------------------------------------------


@dataclass
class Clicks:
    answers: Counter[int] = field(default_factory=Counter)
    seconds: list[float] = field(default_factory=list)
    by_status: dict[int, list[float]] = field(default_factory=dict)
    server_errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def click(self, client: httpx.Client, run_id: int, barrier: threading.Barrier) -> None:
        barrier.wait(timeout=60)
        start = time.perf_counter()
        try:
            response = client.post(f"/api/v1/runs/{run_id}/ticket")
            status, text = response.status_code, response.text
        except httpx.HTTPError as exc:
            status, text = 599, repr(exc)  # no answer at all counts as a server error
        took = time.perf_counter() - start
        with self.lock:
            self.answers[status] += 1
            self.seconds.append(took)
            self.by_status.setdefault(status, []).append(took)
            if status >= 500:
                self.server_errors.append(f"run {run_id}: {status} {text[:300]}")


def double_click_all(
    workers: list[Worker], token: str, run_ids: list[int], operators: int
) -> Clicks:
    clicks = Clicks()
    headers = {"Authorization": f"Bearer {token}"}
    with ExitStack() as stack:
        clients = [
            stack.enter_context(httpx.Client(base_url=w.url, headers=headers, timeout=120))
            for w in workers
        ]
        with ThreadPoolExecutor(max_workers=2 * operators) as pool:
            futures = []
            for run_id in run_ids:
                barrier = threading.Barrier(2)
                futures += [pool.submit(clicks.click, c, run_id, barrier) for c in clients]
            for future in futures:
                future.result()
    return clicks


# --- the bench ---------------------------------------------------------------------------------


@dataclass
class Outcome:
    runs: int
    tickets: int
    duplicates: int
    unlinked: list[str]
    clicks: Clicks
    settle_rounds: int
    requests: Counter[str]
    thread_refusals: int
    faults_hit: dict[str, int]
    creates_during_clicks: int
    after_clicks: Counter[str]
    unknown_causes: Counter[str]
    worker_errors: dict[str, int]
    click_seconds: float


def _kind(entry: dict[str, Any]) -> str:
    path = str(entry["path"]).lower().rstrip("/")
    if entry["method"] == "POST" and path.endswith("/v1.0/tickets"):
        return "create"
    if path.endswith("/v1.0/tickets/query"):
        return "search"
    if "/v1.0/tickets/" in path:
        return "read"
    return "other"


def _states(db: sessionmaker[Session], run_ids: list[int]) -> Counter[str]:
    """Where the runs' tickets stand: linked, creating (by phase), or no link."""
    with db() as session:
        current = store.current_for_runs(session, run_ids)
    return Counter(
        "no link"
        if (row := current.get(run_id)) is None
        else row.state
        if row.state != LinkState.CREATING.value
        else f"creating ({row.create_phase})"
        for run_id in run_ids
    )


def _unknown_causes(db: sessionmaker[Session]) -> Counter[str]:
    """Why creates were left with their outcome unknown: the error of each failed attempt."""
    causes: Counter[str] = Counter()
    with db() as session:
        events = session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "ticket.create", AuditEvent.outcome == "unknown"
            )
        )
        for event in events:
            attempts = event.details.get("attempts")
            for attempt in attempts if isinstance(attempts, list) else []:
                status = attempt.get("status_code", "-")
                causes[f"{status} {attempt.get('error', '')}"[:110]] += 1
    return causes


def _fault_name(fault: dict[str, Any]) -> str:
    if fault["kind"] == "status":
        return str(fault["status"])
    return "dropped after commit" if fault["kind"] == "drop" else f"latency {fault['seconds']:g} s"


def run(database_url: str, folder: Path, args: argparse.Namespace) -> Outcome:
    emulator_app = create_emulator(seed="demo", random_seed=args.seed)
    emulator = emulator_app.state.emulator
    clock = ShiftedClock()
    settings = bench_settings(database_url, folder / "bench")
    job = build_runtime(settings, clock=clock)  # the settle job, and the set-up
    db = job.session_factory
    with serve_in_thread(emulator_app) as emulator_url, ExitStack() as stack:
        admin = stack.enter_context(httpx.Client(base_url=emulator_url, timeout=30))
        configure(job, api_host=emulator_url)
        reference.refresh(job, actor="bench")
        with db() as session:
            integration_settings.save(
                session, job.secret_box, DEFAULTS, actor="bench", now=NOW, kind="autotask"
            )
            session.commit()
        [customer_id] = add_customers(db, "Acme Logistics")
        mapping.map_customer(job, customer_id, BRIGHTWATER, actor="bench")
        run_ids = add_runs(db, args.runs, step=timedelta(hours=-1))
        token = add_token(db, Role.OPERATOR)
        workers = [
            stack.enter_context(worker(database_url, folder, name, args.create_timeout))
            for name in ("worker-a", "worker-b")
        ]

        since = admin.get("/_emulator/requests").json()["total"]
        admin.patch("/_emulator/limits", json={"reset_threads": True}).raise_for_status()
        specs = [spec | CREATES | {"count": None} for spec in faults(args.create_timeout)]
        if args.faults:
            admin.post("/_emulator/faults", json={"faults": specs}).raise_for_status()
        started = time.perf_counter()
        clicks = double_click_all(workers, token, run_ids, args.operators)
        click_seconds = time.perf_counter() - started

        # The clicks' actions still queued or running finish under the same faults.
        for w in workers:
            w.stop()
        hit = admin.get("/_emulator/faults").json()["faults"]
        admin.delete("/_emulator/faults").raise_for_status()
        during = admin.get("/_emulator/requests", params={"since": since}).json()["requests"]
        after_clicks = _states(db, run_ids)
        rounds = 0
        while rounds < SETTLE_ROUNDS:
            rounds += 1
            ticketing.settle_pending(job)
            with db() as session:
                current = store.current_for_runs(session, run_ids)
            if not any(row.state == LinkState.CREATING.value for row in current.values()):
                break
            clock.offset += SETTLE_STEP

        log = admin.get("/_emulator/requests", params={"since": since}).json()["requests"]
        refusals = sum(int(s["refused"]) for s in emulator.threads.stats())
    job.engine.dispose()

    ours = [
        t
        for t in emulator.store.tables["tickets"].values()
        if str(t.get("externalID") or "").startswith("run-")
    ]
    per_reference = Counter(str(t["externalID"]) for t in ours)
    by_reference = {str(t["externalID"]): t for t in ours}
    installation = installation_of(BASE_URL)
    unlinked = []
    for run_id in run_ids:
        row = current.get(run_id)
        own = by_reference.get(run_reference(run_id, installation))
        if row is None or row.state != LinkState.ACTIVE.value:
            why = "no link" if row is None else f"{row.state}: {row.last_error}"
            unlinked.append(f"run {run_id}: {why}")
        elif own is None or row.ticket_id != own["id"]:
            unlinked.append(f"run {run_id}: linked to {row.ticket_id}, not its own ticket")
    return Outcome(
        runs=len(run_ids),
        tickets=len(ours),
        duplicates=sum(1 for n in per_reference.values() if n > 1),
        unlinked=unlinked,
        clicks=clicks,
        settle_rounds=rounds,
        requests=Counter(_kind(entry) for entry in log),
        thread_refusals=refusals,
        faults_hit={_fault_name(f): int(f["hits"]) for f in hit},
        creates_during_clicks=sum(1 for entry in during if _kind(entry) == "create"),
        after_clicks=after_clicks,
        unknown_causes=_unknown_causes(db),
        worker_errors={w.log.name: w.log.read_text().count("Traceback") for w in workers},
        click_seconds=click_seconds,
    )


def report(backend: str, outcome: Outcome, args: argparse.Namespace) -> bool:
    clicks = outcome.clicks
    cuts = statistics.quantiles(clicks.seconds, n=100, method="inclusive")
    p50, p95, p99 = (cuts[i] * 1000 for i in (49, 94, 98))
    five_xx = sum(n for status, n in clicks.answers.items() if status >= 500)
    total = sum(outcome.requests.values())
    per_ticket = total / outcome.tickets if outcome.tickets else float("nan")
    served = (total - outcome.thread_refusals) / outcome.tickets if outcome.tickets else 0.0
    kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(outcome.requests.items()))
    answers = ", ".join(
        f"{n}x {status} (median {statistics.median(clicks.by_status[status]) * 1000:.0f} ms)"
        for status, n in sorted(clicks.answers.items())
    )
    hits = ", ".join(f"{n}x {name}" for name, n in outcome.faults_hit.items())
    print(
        f"ticket chaos on {backend}: {outcome.runs} runs, 2 workers, {args.operators} operators "
        f"double-clicking, create timeout {args.create_timeout:g} s"
    )
    print(f"  tickets in the emulator   {outcome.tickets}")
    print(f"  duplicates                {outcome.duplicates}")
    print(f"  unlinked runs             {len(outcome.unlinked)}")
    print(f"  5xx answers               {five_xx}  (answers: {answers})")
    print(
        f"  click answer time         p50 {p50:.0f} ms  p95 {p95:.0f} ms  p99 {p99:.0f} ms  "
        f"(max {max(clicks.seconds) * 1000:.0f} ms; {len(clicks.seconds)} clicks in "
        f"{outcome.click_seconds:.1f} s)"
    )
    print(
        f"  Autotask requests/ticket  {per_ticket:.2f}  ({total}: {kinds}); "
        f"{served:.2f} without those refused for the thread limit"
    )
    print(
        f"  faults hit                {hits or 'none'} "
        f"({outcome.creates_during_clicks} creates sent while the faults were on)"
    )
    print(f"  emulator thread refusals  {outcome.thread_refusals} (3 in flight per endpoint)")
    states = ", ".join(f"{n} {state}" for state, n in sorted(outcome.after_clicks.items()))
    print(f"  once the workers stopped  {states}")
    print(f"  settle job rounds         {outcome.settle_rounds}")
    for cause, n in outcome.unknown_causes.most_common(6):
        print(f"  left unknown after        {n}x {cause}")
    print(f"  tracebacks in worker logs {outcome.worker_errors}")
    print(f"  {load_note()}")
    for line in (clicks.server_errors + outcome.unlinked)[:10]:
        print(f"    {line}")
    ok = (
        outcome.duplicates == 0
        and not outcome.unlinked
        and five_xx == 0
        and outcome.tickets == outcome.runs
    )
    print(
        f"  target 0 duplicates / 0 unlinked / 0 5xx: {'met' if ok else 'MISSED'}; "
        f"p99 under 1 s: {'met' if p99 < 1000 else 'MISSED'}"
    )
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--operators", type=int, default=10, help="double clicks at a time")
    parser.add_argument(
        "--create-timeout", type=float, default=3.0, help="seconds (the workers' transport)"
    )
    parser.add_argument("--seed", type=int, default=9, help="the emulator's fault generator")
    parser.add_argument(
        "--faults",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="--no-faults: the same clicks on a healthy Autotask, for comparison",
    )
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL database in which a throw-away schema is created (default: SQLite)",
    )
    args = parser.parse_args()
    backend = "postgresql" if args.database_url else "sqlite"
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        with fresh_database(backend, folder, args.database_url or "") as url:
            outcome = run(url, folder, args)
            logs = {p.name: p.read_text() for p in folder.glob("worker-*.log")}
    report(backend, outcome, args)
    for log_name, text in logs.items():
        if "Traceback" in text:
            start = text.index("Traceback")
            print(f"\nfirst traceback in {log_name}:\n{text[max(0, start - 200) : start + 4000]}")


if __name__ == "__main__":
    main()
