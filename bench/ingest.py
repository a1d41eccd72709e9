"""Runs stored per second through POST /api/v1/runs, in batches, on PostgreSQL and on SQLite,
next to the most the database takes: the same rows copied in bare, measured in the same run.

The real app is served by uvicorn in a child process on a loopback port; this process posts
pre-encoded batches with httpx, one after another, then again from two senders at once, so the
figure is the server's (and the database's) throughput, not JSON encoding in the client. Each
backend starts from an empty database: a SQLite file under a temporary directory, a throw-away
PostgreSQL schema.

The ceiling: another empty database of the same backend, holding the customers and jobs, takes
the same runs and objects, built beforehand as rows with their ids, batch by batch, one
transaction each, as bare as the driver allows: COPY on PostgreSQL, executemany of one prepared
INSERT on SQLite. Other load on the machine moves both figures; their ratio moves less. On
PostgreSQL a third database takes all the rows in one COPY per table and one transaction, the
most these tables take from this driver; an API that commits each batch it acknowledges cannot
reach it, and it is printed so that the two ceilings can be told apart.

    .venv/bin/python bench/ingest.py [--runs 100000] [--batch 500] [--backend both]

Target (issue 15): 20,000 runs/s on PostgreSQL, about a third of the bare COPY on the machine it
was set on. The share is judged everywhere; the rate only where the bare COPY itself is faster.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import socket
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlalchemy import func, select
from support import (
    DatabaseUnavailable,
    add_database_options,
    bench_settings,
    chosen_backends,
    fresh_database,
    load_note,
    realistic_runs,
)

from ticketbridge.core.roles import Role
from ticketbridge.services.accounts import users as accounts
from ticketbridge.settings import Settings
from ticketbridge.storage.db import make_engine, make_session_factory
from ticketbridge.storage.models import Customer, Job, Run, RunObject
from ticketbridge.web.app import create_app

# Issue 15: 20,000 runs/s on PostgreSQL, "about a third of COPY" on the machine it was set on.
TARGET_PG_RUNS_PER_SECOND = 20_000
TARGET_SHARE_OF_COPY = 1 / 3
# One client posting batch after batch, and two at once (reports arrive from many sources).
SENDERS = (1, 2)
REQUEST_TIMEOUT_S = 300.0


def _serve(settings: Settings, sock: socket.socket) -> None:
    config = uvicorn.Config(create_app(settings), log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


def _process_cpu(pid: int) -> float:
    """CPU seconds a running process has used so far (Linux /proc), or -1 where unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return -1.0
    # utime and stime, the 14th and 15th fields, counted from the state after the name.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _token(database_url: str) -> str:
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            _, plaintext = accounts.create_token(session, "bench", Role.OPERATOR, None)
            session.commit()
        return plaintext
    finally:
        engine.dispose()


def _stored(database_url: str) -> tuple[int, int]:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            runs = connection.scalar(select(func.count()).select_from(Run)) or 0
            objects = connection.scalar(select(func.count()).select_from(RunObject)) or 0
        return runs, objects
    finally:
        engine.dispose()


def _send(
    base_url: str, token: str, backend: str, bodies: list[bytes], sizes: list[int]
) -> list[float]:
    """Post the batches one after another on one connection; each one's latency."""
    latencies = []
    with httpx.Client(
        base_url=base_url,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        timeout=REQUEST_TIMEOUT_S,
    ) as client:
        for body, size in zip(bodies, sizes, strict=True):
            sent = time.perf_counter()
            # An operator token: its runs create customers only when asked to.
            response = client.post("/api/v1/runs?create_customers=true", content=body)
            latencies.append(time.perf_counter() - sent)
            if response.status_code != 200:
                raise SystemExit(f"{backend}: HTTP {response.status_code}: {response.text[:500]}")
            created = response.json()["created"]
            if created != size:
                raise SystemExit(f"{backend}: {created} of {size} runs created")
    return latencies


def bench_backend(
    backend: str, bodies: list[bytes], sizes: list[int], senders: int, args: argparse.Namespace
) -> float:
    with (
        tempfile.TemporaryDirectory(prefix="tb-bench-") as tmp,
        fresh_database(backend, Path(tmp), args.postgres_url) as url,
    ):
        settings = bench_settings(url, Path(tmp) / "var")
        token = _token(url)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        # fork: the child inherits the listening socket; the first request queues until it serves.
        server = multiprocessing.get_context("fork").Process(
            target=_serve, args=(settings, sock), daemon=True
        )
        server.start()
        base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        latencies: list[float] = []
        try:
            httpx.get(f"{base_url}/healthz", timeout=REQUEST_TIMEOUT_S).raise_for_status()
            # The server's CPU from here, not its start (importing, building the app, the
            # lifespan's workers: almost a second, which read as 30 us a run at 30,000).
            assert server.pid is not None
            cpu_before = _process_cpu(server.pid)
            started = time.perf_counter()
            # Each sender takes every n-th batch: with two, the server reads one batch while
            # the database stores the other.
            with ThreadPoolExecutor(senders) as pool:
                for sent in pool.map(
                    lambda first: _send(
                        base_url, token, backend, bodies[first::senders], sizes[first::senders]
                    ),
                    range(senders),
                ):
                    latencies += sent
            elapsed = time.perf_counter() - started
            # The server's own CPU: a figure that other load on the machine disturbs less.
            server_cpu = _process_cpu(server.pid) - cpu_before
        finally:
            server.terminate()
            server.join(timeout=30)
            sock.close()
        runs, objects = _stored(url)
    total = sum(sizes)
    if runs != total:
        raise SystemExit(f"{backend}: {runs} runs stored, {total} posted")
    rate = total / elapsed
    ms = sorted(latency * 1000 for latency in latencies)
    p95 = ms[max(0, round(len(ms) * 0.95) - 1)]
    print(
        f"{backend:<10} {rate:>8,.0f} runs/s  {senders} sender{'s' if senders > 1 else ' '}  "
        f"{elapsed:7.1f} s total  "
        f"batch p50 {statistics.median(ms):6.0f} ms  p95 {p95:6.0f} ms  "
        f"max {ms[-1]:6.0f} ms  server cpu {server_cpu:6.1f} s "
        f"({server_cpu / total * 1e6:.0f} us/run)  ({runs:,} runs, {objects:,} objects stored)",
        flush=True,
    )
    return rate


def bare_copy(
    backend: str,
    batches: list[list[dict[str, Any]]],
    args: argparse.Namespace,
    *,
    whole: bool = False,
) -> float:
    """Runs/s of the same runs and objects copied in bare, batch by batch, or with ``whole`` in
    one transaction (the module docstring)."""
    with (
        tempfile.TemporaryDirectory(prefix="tb-bench-") as tmp,
        fresh_database(backend, Path(tmp), args.postgres_url) as url,
    ):
        engine = make_engine(url)
        try:
            jobs = _catalog(engine, [run for batch in batches for run in batch])
            received = datetime.now(UTC)
            rows = _bare_rows(batches, jobs, received, sqlite=backend == "sqlite")
            if whole:
                rows = [
                    (
                        [row for run_rows, _ in rows for row in run_rows],
                        [row for _, object_rows in rows for row in object_rows],
                    )
                ]
            raw: Any = engine.raw_connection()
            try:
                started = time.perf_counter()
                for run_rows, object_rows in rows:
                    _bare_batch(raw, backend, run_rows, object_rows)
                elapsed = time.perf_counter() - started
            finally:
                raw.close()
        finally:
            engine.dispose()
        runs, objects = _stored(url)
    rate = runs / elapsed
    print(
        f"{backend:<10} {rate:>8,.0f} runs/s  {elapsed:7.1f} s total  bare "
        f"{'COPY' if backend == 'postgresql' else 'executemany'} of the same rows "
        f"{'in one transaction' if whole else 'batch by batch'} "
        f"({runs:,} runs, {objects:,} objects)",
        flush=True,
    )
    return rate


def _catalog(engine: Any, runs: list[dict[str, Any]]) -> dict[tuple[str, str, str], int]:
    """The customers and jobs the runs name, stored before the clock starts: job id by names."""
    with make_session_factory(engine)() as session:
        customers: dict[str, Customer] = {}
        jobs: dict[tuple[str, str, str], Job] = {}
        for run in runs:
            name = run["customer"]
            if name not in customers:
                customers[name] = Customer(name=name, active=True)
            key = (name, run["backup_product"], run["job_name"])
            if key not in jobs:
                jobs[key] = Job(
                    customer=customers[name],
                    backup_product=run["backup_product"],
                    job_name=run["job_name"],
                    job_type=run["job_type"],
                    host=run["host"],
                )
        session.add_all(jobs.values())
        session.commit()
        return {key: job.id for key, job in jobs.items()}


BareBatch = tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]


def _bare_rows(
    batches: list[list[dict[str, Any]]],
    jobs: dict[tuple[str, str, str], int],
    received: datetime,
    *,
    sqlite: bool,
) -> list[BareBatch]:
    """Every batch as rows ready for the driver, ids included (SQLite keeps times as text)."""

    def when(text: str | None) -> Any:
        if text is None:
            return None
        value = datetime.fromisoformat(text).astimezone(UTC)
        return value.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else value

    stamp = when(received.isoformat())
    prepared: list[BareBatch] = []
    run_id = 0
    for batch in batches:
        run_rows, object_rows = [], []
        for run in batch:
            run_id += 1
            job = jobs[(run["customer"], run["backup_product"], run["job_name"])]
            started, ended = when(run["started_at"]), when(run["ended_at"])
            remark, external_id = run["overall_remark"], run["external_id"]
            run_rows.append(
                (run_id, job, run["status"], started, ended, remark, "api", external_id, stamp, "")
            )
            object_rows += [
                (run_id, o["name"], o["type"], o["status"], o["message"]) for o in run["objects"]
            ]
        prepared.append((run_rows, object_rows))
    return prepared


RUN_COLUMNS = "id, job_id, status, started_at, ended_at, overall_remark, source, external_id, "
RUN_COLUMNS += "received_at, review_note"
OBJECT_COLUMNS = "run_id, name, type, status, message"


def _bare_batch(raw: Any, backend: str, runs: list[Any], objects: list[Any]) -> None:
    cursor = raw.cursor()
    try:
        if backend == "postgresql":
            with cursor.copy(f"COPY runs ({RUN_COLUMNS}) FROM STDIN") as copy:
                for row in runs:
                    copy.write_row(row)
            with cursor.copy(f"COPY run_objects ({OBJECT_COLUMNS}) FROM STDIN") as copy:
                for row in objects:
                    copy.write_row(row)
        else:
            cursor.executemany(
                f"INSERT INTO runs ({RUN_COLUMNS}) VALUES ({', '.join('?' * 10)})", runs
            )
            cursor.executemany(
                f"INSERT INTO run_objects ({OBJECT_COLUMNS}) VALUES (?, ?, ?, ?, ?)", objects
            )
        raw.commit()
    finally:
        cursor.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=100_000, help="runs to post (default 100000)")
    parser.add_argument("--batch", type=int, default=500, help="runs per request (default 500)")
    add_database_options(parser)
    args = parser.parse_args()

    runs = list(realistic_runs(args.runs))
    batches = [runs[i : i + args.batch] for i in range(0, len(runs), args.batch)]
    bodies = [json.dumps({"runs": batch}).encode() for batch in batches]
    sizes = [len(batch) for batch in batches]
    print(
        f"ingest: {args.runs:,} runs in {len(bodies)} batches of {args.batch} "
        f"({sum(map(len, bodies)) / len(bodies) / 1024:.0f} KiB each), "
        f"one uvicorn server process; {load_note()}",
        flush=True,
    )
    shares: dict[str, float] = {}
    ceilings: dict[str, float] = {}
    whole_copy = 0.0
    for backend in chosen_backends(args):
        try:
            by_senders = {n: bench_backend(backend, bodies, sizes, n, args) for n in SENDERS}
            ceiling = bare_copy(backend, batches, args)
            if backend == "postgresql":
                whole_copy = bare_copy(backend, batches, args, whole=True)
        except DatabaseUnavailable as exc:
            print(f"{backend:<10} skipped: {exc}", flush=True)
            continue
        for senders, rate in by_senders.items():
            print(
                f"{backend:<10} API with {senders} sender{'s' if senders > 1 else ''} at "
                f"{rate / ceiling:.0%} of the bare copy (1 : {ceiling / rate:.1f})",
                flush=True,
            )
        shares[backend] = max(by_senders.values()) / ceiling
        ceilings[backend] = ceiling
    print(f"machine: {load_note()}")
    if "postgresql" in shares:
        share, ceiling = shares["postgresql"], ceilings["postgresql"]
        verdict = "met" if share >= TARGET_SHARE_OF_COPY else "MISSED"
        print(f"target >= a third of the bare COPY on PostgreSQL: {verdict} ({share:.0%})")
        print(
            f"the API's best at {share * ceiling / whole_copy:.0%} of one COPY in one transaction "
            f"({whole_copy:,.0f} runs/s)"
        )
        if ceiling < TARGET_PG_RUNS_PER_SECOND:
            # No path through the API can outrun the bare COPY of the same rows.
            print(
                f"target {TARGET_PG_RUNS_PER_SECOND:,} runs/s: out of reach here, where the bare "
                f"COPY itself stores {ceiling:,.0f} runs/s"
            )
        else:
            rate = share * ceiling
            verdict = "met" if rate >= TARGET_PG_RUNS_PER_SECOND else "MISSED"
            print(f"target >= {TARGET_PG_RUNS_PER_SECOND:,} runs/s on PostgreSQL: {verdict}")


if __name__ == "__main__":
    sys.exit(main())
