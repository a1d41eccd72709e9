"""Server time of the pages operators live in, with 100,000 runs stored, on PostgreSQL and SQLite.

Each backend starts from an empty database, seeded with realistic runs (50 customers x 4 daily
jobs, about 500 days of history); runs older than two days are marked reviewed, so Run Checks
shows a day's queue as it would in use. PostgreSQL is vacuumed and analysed after seeding, as
autovacuum would. A signed-in admin then requests each page through an in-process client:
server time is the time around one request, with no network. SQL statements per request are
counted too, as an N+1 query shows there first.

    .venv/bin/python bench/run_checks.py [--runs 100000] [--requests 50] [--backend both]

Target: p95 under 150 ms.
"""

from __future__ import annotations

import argparse
import gc
import re
import statistics
import sys
import tempfile
import time
import warnings
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, func, insert, select, text, update
from sqlalchemy.orm import Session
from support import (
    NOW,
    DatabaseUnavailable,
    add_database_options,
    bench_settings,
    chosen_backends,
    fresh_database,
    load_note,
    realistic_runs,
)

from ticketbridge.core.roles import Role
from ticketbridge.core.statuses import RunSource
from ticketbridge.services import accounts, run_ingest
from ticketbridge.services.run_ingest import RunIn
from ticketbridge.storage.db import make_engine, make_session_factory
from ticketbridge.storage.models import Job, Run, RunObject
from ticketbridge.web.app import create_app

with warnings.catch_warnings():
    # Starlette's notice about its httpx dependency says nothing about what is measured here.
    warnings.filterwarnings("ignore", message="Using `httpx`")
    from starlette.testclient import TestClient

TARGET_P95_MS = 150
SEED_BATCH = 2000
PASSWORD = "bench-admin-password"
REVIEWED_BEFORE = NOW - timedelta(days=2)
WARM_UP = 3
RUN_CHECKS_PER_PAGE = 50  # ticketbridge.web.ui.review_pages.PER_PAGE


def seed(engine: Engine, count: int) -> None:
    """The first batch goes through the ingest service (it creates customers and jobs); the rest
    is inserted in bulk, which stores the same rows far faster. Runs are stored reviewed or not
    from the start, rather than updated afterwards, so the tables hold no dead rows that a
    vacuum (held back by any long transaction elsewhere on the server) would have to remove."""
    factory = make_session_factory(engine)
    payloads = realistic_runs(count)
    first = [RunIn.model_validate(p) for _, p in zip(range(SEED_BATCH), payloads, strict=False)]
    with factory.begin() as session:
        run_ingest.store(session, first, source=RunSource.API)
        session.execute(
            update(Run)
            .where(Run.started_at < REVIEWED_BEFORE)
            .values(reviewed_at=NOW, reviewed_by="bench", review_note="")
        )
        jobs = {
            (job.customer.name, job.backup_product, job.job_name): job.id
            for job in session.scalars(select(Job))
        }
    batch: list[dict[str, Any]] = []
    for payload in payloads:
        batch.append(payload)
        if len(batch) == SEED_BATCH:
            _bulk_insert(factory.begin, jobs, batch)
            batch = []
    if batch:
        _bulk_insert(factory.begin, jobs, batch)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            # What autovacuum would have done by now; only this schema's tables, as a bare
            # VACUUM would visit (and wait on) every schema of the database.
            connection.execute(text("VACUUM (ANALYZE) customers, jobs, runs, run_objects"))


def _bulk_insert(
    begin: Any, jobs: dict[tuple[str, str, str], int], batch: list[dict[str, Any]]
) -> None:
    items = [RunIn.model_validate(p) for p in batch]
    rows = [
        {
            "job_id": jobs[(item.customer, item.backup_product, item.job_name)],
            "status": item.status.value,
            "started_at": item.started_at,
            "ended_at": item.ended_at,
            "overall_remark": item.overall_remark,
            "source": RunSource.API.value,
            "external_id": item.external_id,
            "received_at": item.ended_at or item.started_at,
            "reviewed_at": NOW if item.started_at < REVIEWED_BEFORE else None,
            "reviewed_by": "bench" if item.started_at < REVIEWED_BEFORE else None,
            "review_note": "",
        }
        for item in items
    ]
    session: Session
    with begin() as session:
        ids = list(
            session.scalars(insert(Run).returning(Run.id, sort_by_parameter_order=True), rows)
        )
        objects = [
            {
                "run_id": run_id,
                "name": o.name,
                "type": o.type,
                "status": o.status.value,
                "message": o.message,
            }
            for run_id, item in zip(ids, items, strict=True)
            for o in item.objects
        ]
        if objects:
            session.execute(insert(RunObject), objects)


def sign_in(client: TestClient, username: str) -> None:
    page = client.get("/login")
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    if not match:
        raise SystemExit("the login page has no CSRF token")
    response = client.post(
        "/login",
        data={
            "csrf_token": match.group(1),
            "username": username,
            "password": PASSWORD,
            "next": "/",
        },
        follow_redirects=False,
    )
    if response.status_code != 303:
        raise SystemExit(f"sign-in failed: HTTP {response.status_code}")


def measure(
    client: TestClient, statements: list[int], path: str, requests: int
) -> dict[str, float]:
    times: list[float] = []
    cpu: list[float] = []
    counted: list[int] = []
    for attempt in range(WARM_UP + requests):
        before = statements[0]
        started, cpu_started = time.perf_counter(), time.process_time()
        response = client.get(path, follow_redirects=False)
        elapsed, cpu_used = time.perf_counter() - started, time.process_time() - cpu_started
        if response.status_code != 200:
            raise SystemExit(f"GET {path}: HTTP {response.status_code}")
        if attempt >= WARM_UP:
            times.append(elapsed * 1000)
            cpu.append(cpu_used * 1000)
            counted.append(statements[0] - before)
    times.sort()
    return {
        "p50": statistics.median(times),
        "p95": times[max(0, round(len(times) * 0.95) - 1)],
        "max": times[-1],
        "cpu": statistics.median(cpu),
        "queries": max(counted),
        "kib": len(response.content) / 1024,
    }


def bench_backend(backend: str, args: argparse.Namespace) -> list[float]:
    with (
        tempfile.TemporaryDirectory(prefix="tb-bench-") as tmp,
        fresh_database(backend, Path(tmp), args.postgres_url) as url,
    ):
        engine = make_engine(url)
        started = time.perf_counter()
        seed(engine, args.runs)
        seeded = time.perf_counter() - started
        factory = make_session_factory(engine)
        with factory.begin() as session:
            accounts.create_user(session, "bench-admin", PASSWORD, Role.ADMIN)
            job_id, run_id = session.execute(
                select(Run.job_id, Run.id).order_by(Run.id.desc()).limit(1)
            ).one()
            stored = session.scalar(select(func.count(Run.id))) or 0
            queue = session.scalar(select(func.count(Run.id)).where(Run.reviewed_at.is_(None)))
            customer_id = session.scalar(select(Job.customer_id).where(Job.id == job_id))
        print(
            f"{backend}: seeded {stored:,} runs in {seeded:.0f} s; {queue:,} unreviewed", flush=True
        )

        statements = [0]

        def count(*_: object) -> None:
            statements[0] += 1

        event.listen(engine, "before_cursor_execute", count)
        day = (NOW - timedelta(days=3)).date().isoformat()
        last_page = -(-stored // RUN_CHECKS_PER_PAGE)
        pages = {
            "dashboard": "/",
            "run checks (queue)": "/run-checks",
            "run checks (every run, reviewed=all)": "/run-checks?reviewed=all",
            "run checks (every run, last page)": f"/run-checks?reviewed=all&page={last_page}",
            "run checks (dashboard cell)": (
                f"/run-checks?customer_id={customer_id}&date_from={day}&date_to={day}&reviewed=all"
            ),
            "job details": f"/jobs/{job_id}",
            "job details, run": f"/jobs/{job_id}/runs/{run_id}",
        }
        settings = bench_settings(url, Path(tmp) / "var")
        p95s: list[float] = []
        with TestClient(create_app(settings, engine=engine, clock=lambda: NOW)) as client:
            # As `ticketbridge serve` does: the start-up heap stays out of full collections.
            gc.collect()
            gc.freeze()
            sign_in(client, "bench-admin")
            for name, path in pages.items():
                figures = measure(client, statements, path, args.requests)
                p95s.append(figures["p95"])
                flag = "" if figures["p95"] < TARGET_P95_MS else "  <- over target"
                print(
                    f"  {name:<38} p50 {figures['p50']:7.1f} ms  p95 {figures['p95']:7.1f} ms  "
                    f"max {figures['max']:7.1f} ms  cpu p50 {figures['cpu']:6.1f} ms  "
                    f"{figures['queries']:3.0f} queries  "
                    f"{figures['kib']:5.0f} KiB{flag}",
                    flush=True,
                )
        event.remove(engine, "before_cursor_execute", count)
        engine.dispose()
    return p95s


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=100_000, help="runs to store (default 100000)")
    parser.add_argument(
        "--requests", type=int, default=50, help="timed requests per page (default 50)"
    )
    add_database_options(parser)
    args = parser.parse_args()
    print(
        f"run_checks: {args.runs:,} runs, {args.requests} requests a page; {load_note()}",
        flush=True,
    )
    worst: list[float] = []
    for backend in chosen_backends(args):
        try:
            worst.extend(bench_backend(backend, args))
        except DatabaseUnavailable as exc:
            print(f"{backend}: skipped: {exc}", flush=True)
    print(f"machine: {load_note()}")
    if worst:
        verdict = "met" if max(worst) < TARGET_P95_MS else "MISSED"
        print(f"target p95 < {TARGET_P95_MS} ms on every page: {verdict}")


if __name__ == "__main__":
    sys.exit(main())
