"""Server time of Run Checks and job history with 1,000,000 runs stored, on PostgreSQL and SQLite.

Each backend starts from an empty database, seeded with realistic runs (50 customers x 4 daily
jobs, about 5,000 days of history at a million runs) loaded in bulk (COPY on PostgreSQL, one
prepared insert on SQLite). The last 60 days (12,000 runs) wait for review, a queue an MSP
would have after two months away; older runs are stored reviewed. PostgreSQL is vacuumed and
analysed after seeding, as autovacuum would. A signed-in admin then requests each page through
an in-process client: server time is the time around one request, with no network. SQL
statements per request are counted too, as an N+1 query shows there first.

Pages: the queue (one row per job) first and last; runs one per row, first, middle and last,
for the queue and for every run stored; searches; a dashboard cell; a job's history, first and
last. Then "review all matching" of 10,000 runs (50 days of the queue), confirmed, in one
request, and its Undo, three times each.

    .venv/bin/python bench/run_checks.py [--runs 1000000] [--requests 30] [--backend both]

Target: p95 under 100 ms for every page.
"""

from __future__ import annotations

import argparse
import gc
import html
import re
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import DateTime, Engine, event, func, select, text
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
from ticketbridge.core.run_order import Cursor, Direction, Sort, SortKey, encode_cursor, queue_rank
from ticketbridge.core.statuses import RunSource
from ticketbridge.services.accounts import users as accounts
from ticketbridge.services.runs.pages import RANK
from ticketbridge.storage.db import make_engine, make_session_factory
from ticketbridge.storage.models import Customer, Job, Run
from ticketbridge.web.app import create_app

with warnings.catch_warnings():
    # Starlette's notice about its httpx dependency says nothing about what is measured here.
    warnings.filterwarnings("ignore", message="Using `httpx`")
    from starlette.testclient import TestClient

TARGET_P95_MS = 100
PASSWORD = "bench-admin-password"
WAITING_DAYS = 60  # runs of the last 60 days wait for review
REVIEW_DAYS = 50  # "review all matching": 50 days x 200 jobs = 10,000 runs
REVIEWED_BEFORE = NOW - timedelta(days=WAITING_DAYS)
WARM_UP = 3
ROUNDS = 3  # review all matching, then Undo, this many times
RUN_COLUMNS = (
    *("id", "job_id", "status", "started_at", "ended_at", "overall_remark", "source"),
    *("external_id", "received_at", "reviewed_by", "reviewed_at", "review_note"),
)
OBJECT_COLUMNS = ("id", "run_id", "name", "type", "status", "message")


# --- seeding --------------------------------------------------------------------------------


def _rows(count: int, jobs: dict[tuple[str, str, str], int]) -> Iterator[tuple[tuple, list]]:
    """(run row, object rows) in RUN_COLUMNS / OBJECT_COLUMNS order, ids from 1."""
    object_id = 0
    for run_id, payload in enumerate(realistic_runs(count), start=1):
        started = datetime.fromisoformat(payload["started_at"])
        ended = datetime.fromisoformat(payload["ended_at"])
        reviewed = started < REVIEWED_BEFORE
        job = jobs[(payload["customer"], payload["backup_product"], payload["job_name"])]
        run = (run_id, job, payload["status"], started, ended, payload["overall_remark"],
               RunSource.API.value, payload["external_id"], ended, "bench" if reviewed else None,
               NOW if reviewed else None, "")  # fmt: skip
        objects = []
        for item in payload["objects"]:
            object_id += 1
            objects.append((object_id, run_id, item["name"], item["type"], item["status"],
                            item["message"]))  # fmt: skip
        yield run, objects


def _catalog(engine: Engine, count: int) -> dict[tuple[str, str, str], int]:
    """Customers and jobs through the ORM (their name keys come from the models)."""
    wanted: dict[tuple[str, str, str], tuple[str, str]] = {}
    for payload in realistic_runs(min(count, 1000)):
        key = (payload["customer"], payload["backup_product"], payload["job_name"])
        wanted[key] = (payload["job_type"], payload["host"])
    factory = make_session_factory(engine)
    with factory.begin() as session:
        customers = {name: Customer(name=name) for name, _, _ in wanted}
        session.add_all(customers.values())
        jobs = {
            key: Job(
                customer=customers[key[0]],
                backup_product=key[1],
                job_name=key[2],
                job_type=job_type,
                host=host,
            )
            for key, (job_type, host) in wanted.items()
        }
        session.add_all(jobs.values())
        session.flush()
        return {key: job.id for key, job in jobs.items()}


def seed(engine: Engine, count: int) -> None:
    jobs = _catalog(engine, count)
    raw = engine.raw_connection()
    try:
        if engine.dialect.name == "postgresql":
            _copy_postgresql(raw.driver_connection, _rows(count, jobs))
        else:
            _insert_sqlite(raw.driver_connection, _rows(count, jobs), engine)
        raw.commit()
    finally:
        raw.close()
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            for table in ("runs", "run_objects"):
                connection.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"))  # fmt: skip
            # What autovacuum would have done by now; only this schema's tables, as a bare
            # VACUUM would visit (and wait on) every schema of the database.
            connection.execute(text("VACUUM (ANALYZE) customers, jobs, runs, run_objects"))
    else:
        with engine.begin() as connection:
            connection.execute(text("ANALYZE"))


def _copy_postgresql(connection: Any, rows: Iterator[tuple[tuple, list]]) -> None:
    objects: list[tuple] = []
    with connection.cursor() as cursor:
        with cursor.copy(f"COPY runs ({', '.join(RUN_COLUMNS)}) FROM STDIN") as copy:
            for run, items in rows:
                copy.write_row(run)
                objects.extend(items)
        with cursor.copy(f"COPY run_objects ({', '.join(OBJECT_COLUMNS)}) FROM STDIN") as copy:
            for item in objects:
                copy.write_row(item)


def _insert_sqlite(connection: Any, rows: Iterator[tuple[tuple, list]], engine: Engine) -> None:
    # The dialect's own storage format, as the ORM writes it (SQLite compares the text).
    stamp = DateTime().dialect_impl(engine.dialect).bind_processor(engine.dialect)
    assert stamp is not None

    def naive(value: datetime | None) -> Any:
        return None if value is None else stamp(value.replace(tzinfo=None))

    run_sql = f"INSERT INTO runs ({', '.join(RUN_COLUMNS)}) VALUES ({', '.join('?' * 12)})"
    object_sql = f"INSERT INTO run_objects ({', '.join(OBJECT_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?)"
    cursor = connection.cursor()
    batch: list[tuple] = []
    objects: list[tuple] = []
    for run, items in rows:
        batch.append((*run[:3], naive(run[3]), naive(run[4]), *run[5:8], naive(run[8]), run[9],
                      naive(run[10]), run[11]))  # fmt: skip
        objects.extend(items)
        if len(batch) == 20_000:
            cursor.executemany(run_sql, batch)
            cursor.executemany(object_sql, objects)
            batch, objects = [], []
    cursor.executemany(run_sql, batch)
    cursor.executemany(object_sql, objects)


# --- requests -------------------------------------------------------------------------------


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


@dataclass
class Figures:
    p50: float
    p95: float
    max: float
    cpu: float
    queries: int
    kib: float


def measure(client: TestClient, statements: list[int], path: str, requests: int) -> Figures:
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
    return Figures(
        p50=statistics.median(times),
        p95=times[max(0, round(len(times) * 0.95) - 1)],
        max=times[-1],
        cpu=statistics.median(cpu),
        queries=max(counted),
        kib=len(response.content) / 1024,
    )


def _middle(engine: Engine, *, waiting: bool, sort: Sort) -> str:
    """The cursor of a page in the middle of a list, found once (outside the timing) with an
    offset, as if someone had paged there."""
    query = select(Run.status, Run.started_at, Run.id)
    if waiting:
        query = query.where(Run.reviewed_at.is_(None))
    if sort is Sort.WORST:
        order: tuple[Any, ...] = (RANK, Run.started_at, Run.id)
    elif sort is Sort.NEWEST:
        order = (Run.started_at.desc(), Run.id.desc())
    else:
        order = (Run.started_at, Run.id)
    with engine.connect() as connection:
        total = connection.scalar(select(func.count()).select_from(query.subquery())) or 0
        status, started, run_id = connection.execute(
            query.order_by(*order).offset(total // 2).limit(1)
        ).one()
    key = SortKey(queue_rank(status) if sort.by_status else 0, started, run_id)
    return encode_cursor(Cursor("runs", sort, Direction.AFTER, key))


def _review_matching(client: TestClient, statements: list[int], since: str) -> tuple[float, int]:
    """One confirmed "review all matching" of the 10,000 runs since `since`: (ms, reviewed)."""
    query = urlencode({"date_from": since})
    confirm = client.get(f"/run-checks/confirm?{query}").text
    found = re.search(r"<strong>([\d,]+) runs</strong>", confirm)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', confirm)
    upto = re.search(r'name="upto" value="(\d+)"', confirm)
    if not (found and csrf and upto):
        raise SystemExit("the confirmation page is not what was expected")
    form = {"csrf_token": csrf.group(1), "filter": query, "upto": upto.group(1),
            "confirmed": found.group(1).replace(",", ""), "action": "confirmed",
            "note": "bench"}  # fmt: skip
    started = time.perf_counter()
    done = client.post("/run-checks/review", data=form, follow_redirects=False)
    elapsed = (time.perf_counter() - started) * 1000
    if done.status_code != 303:
        raise SystemExit(f"review all matching: HTTP {done.status_code}")
    return elapsed, int(form["confirmed"])


def _undo(client: TestClient) -> tuple[float, str]:
    page = client.get("/run-checks").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    stamp = re.search(r'name="reviewed_at" value="([^"]+)"', page)
    if not (csrf and stamp):
        raise SystemExit("no Undo after the review")
    started = time.perf_counter()
    done = client.post(
        "/run-checks/unreview",
        data={"csrf_token": csrf.group(1), "reviewed_at": html.unescape(stamp.group(1))},
        follow_redirects=False,
    )
    elapsed = (time.perf_counter() - started) * 1000
    message = client.get("/run-checks").text
    said = re.search(r'<span role="status">([^<]+)</span>', message)
    if done.status_code != 303 or not said:
        raise SystemExit(f"undo: HTTP {done.status_code}")
    return elapsed, said.group(1)


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
            customer_id, customer = session.execute(
                select(Customer.id, Customer.name).join(Job).where(Job.id == job_id)
            ).one()
        print(f"{backend}: seeded {stored:,} runs in {seeded:.0f} s; {queue:,} waiting for review",
              flush=True)  # fmt: skip

        statements = [0]

        def count(*_: object) -> None:
            statements[0] += 1

        day = (NOW - timedelta(days=3)).date().isoformat()
        middle_queue = _middle(engine, waiting=True, sort=Sort.WORST)
        middle_all = _middle(engine, waiting=False, sort=Sort.WORST)
        middle_newest = _middle(engine, waiting=False, sort=Sort.NEWEST)
        event.listen(engine, "before_cursor_execute", count)
        pages = {
            "dashboard": "/",
            "queue, one row per job": "/run-checks",
            "queue, one row per job, last page": "/run-checks?cursor=last",
            "queue, runs, first page": "/run-checks?view=runs",
            "queue, runs, middle page": f"/run-checks?view=runs&cursor={middle_queue}",
            "queue, runs, last page": "/run-checks?view=runs&cursor=last",
            "every run, worst first, first page": "/run-checks?reviewed=all",
            "every run, worst first, middle page": f"/run-checks?reviewed=all&cursor={middle_all}",
            "every run, worst first, last page": "/run-checks?reviewed=all&cursor=last",
            "every run, newest first, first page": "/run-checks?reviewed=all&sort=newest",
            "every run, newest first, middle page": (
                f"/run-checks?reviewed=all&sort=newest&cursor={middle_newest}"
            ),
            "every run, newest first, last page": (
                "/run-checks?reviewed=all&sort=newest&cursor=last"
            ),
            "search the queue: 'snapshot'": "/run-checks?q=snapshot",
            "search every run: customer name": (
                f"/run-checks?reviewed=all&sort=newest&{urlencode({'q': customer})}"
            ),
            "search every run: 'repository'": "/run-checks?reviewed=all&sort=newest&q=repository",
            "dashboard cell (customer, day, all)": (
                f"/run-checks?customer_id={customer_id}&date_from={day}&date_to={day}&reviewed=all"
            ),
            "job history, first page": f"/jobs/{job_id}",
            "job history, last page": f"/jobs/{job_id}?cursor=last",
            "job details, run": f"/jobs/{job_id}/runs/{run_id}",
        }
        settings = bench_settings(url, Path(tmp) / "var")
        p95s: list[float] = []
        app = create_app(settings, engine=engine, clock=lambda: NOW)
        with TestClient(app) as client:
            # As `ticketbridge serve` does: the start-up heap stays out of full collections.
            gc.collect()
            gc.freeze()
            sign_in(client, "bench-admin")
            for name, path in pages.items():
                figures = measure(client, statements, path, args.requests)
                p95s.append(figures.p95)
                flag = "" if figures.p95 < TARGET_P95_MS else "  <- over target"
                print(
                    f"  {name:<40} p50 {figures.p50:7.1f} ms  p95 {figures.p95:7.1f} ms  "
                    f"max {figures.max:7.1f} ms  cpu p50 {figures.cpu:6.1f} ms  "
                    f"{figures.queries:3.0f} queries  {figures.kib:5.0f} KiB{flag}",
                    flush=True,
                )
            since = (NOW - timedelta(days=REVIEW_DAYS - 1)).date().isoformat()
            for attempt in range(ROUNDS):
                # Each round a little later, as a real Undo comes within its grace period.
                app.state.ctx.clock = lambda a=attempt: NOW + timedelta(seconds=a + 1)
                reviewed_ms, reviewed = _review_matching(client, statements, since)
                undo_ms, said = _undo(client)
                print(
                    f"  review all matching ({reviewed:,} runs, confirmed): {reviewed_ms:7.0f} ms;"
                    f" Undo: {undo_ms:6.0f} ms ({said})",
                    flush=True,
                )
        event.remove(engine, "before_cursor_execute", count)
        engine.dispose()
    return p95s


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--runs", type=int, default=1_000_000, help="runs to store (default 1000000)"
    )
    parser.add_argument(
        "--requests", type=int, default=30, help="timed requests per page (default 30)"
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
