"""Runs stored per second through POST /api/v1/runs, in batches, on PostgreSQL and on SQLite.

The real app is served by uvicorn in a child process on a loopback port; this process posts
pre-encoded batches one after another with httpx, so the figure is the server's (and the
database's) throughput, not JSON encoding in the client. Each backend starts from an empty
database: a SQLite file under a temporary directory, a throw-away PostgreSQL schema.

    .venv/bin/python bench/ingest.py [--runs 100000] [--batch 500] [--backend both]

Target on 2 cores: at least 1,000 runs/s on PostgreSQL.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

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
from ticketbridge.services import accounts
from ticketbridge.settings import Settings
from ticketbridge.storage.db import make_engine, make_session_factory
from ticketbridge.storage.models import Run, RunObject
from ticketbridge.web.app import create_app

TARGET_PG_RUNS_PER_SECOND = 1000
REQUEST_TIMEOUT_S = 300.0


def _serve(settings: Settings, sock: socket.socket) -> None:
    config = uvicorn.Config(create_app(settings), log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


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


def bench_backend(
    backend: str, bodies: list[bytes], sizes: list[int], args: argparse.Namespace
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
        children_cpu = _children_cpu()
        try:
            with httpx.Client(
                base_url=base_url,
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                timeout=REQUEST_TIMEOUT_S,
            ) as client:
                client.get("/healthz").raise_for_status()
                started = time.perf_counter()
                for body, size in zip(bodies, sizes, strict=True):
                    sent = time.perf_counter()
                    # An operator token: its runs create customers only when asked to.
                    response = client.post("/api/v1/runs?create_customers=true", content=body)
                    latencies.append(time.perf_counter() - sent)
                    if response.status_code != 200:
                        raise SystemExit(
                            f"{backend}: HTTP {response.status_code}: {response.text[:500]}"
                        )
                    created = response.json()["created"]
                    if created != size:
                        raise SystemExit(f"{backend}: {created} of {size} runs created")
                elapsed = time.perf_counter() - started
        finally:
            server.terminate()
            server.join(timeout=30)
            sock.close()
        # The server's own CPU: a figure that other load on the machine disturbs far less.
        server_cpu = _children_cpu() - children_cpu
        runs, objects = _stored(url)
    total = sum(sizes)
    if runs != total:
        raise SystemExit(f"{backend}: {runs} runs stored, {total} posted")
    rate = total / elapsed
    ms = sorted(latency * 1000 for latency in latencies)
    p95 = ms[max(0, round(len(ms) * 0.95) - 1)]
    print(
        f"{backend:<10} {rate:>8,.0f} runs/s  {elapsed:7.1f} s total  "
        f"batch p50 {statistics.median(ms):6.0f} ms  p95 {p95:6.0f} ms  "
        f"max {ms[-1]:6.0f} ms  server cpu {server_cpu:6.1f} s  "
        f"({runs:,} runs, {objects:,} objects stored)",
        flush=True,
    )
    return rate


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
    rates: dict[str, float] = {}
    for backend in chosen_backends(args):
        try:
            rates[backend] = bench_backend(backend, bodies, sizes, args)
        except DatabaseUnavailable as exc:
            print(f"{backend:<10} skipped: {exc}", flush=True)
    print(f"machine: {load_note()}")
    if "postgresql" in rates:
        verdict = "met" if rates["postgresql"] >= TARGET_PG_RUNS_PER_SECOND else "MISSED"
        print(f"target >= {TARGET_PG_RUNS_PER_SECOND:,} runs/s on PostgreSQL: {verdict}")


if __name__ == "__main__":
    sys.exit(main())
