"""One run per sync at a time on procrastinate workers (PostgreSQL): the sync ticks defer each
sync's run as a ``sync.run`` job under the sync's own lock, so while one worker runs a sync, a
second run of it waits in the queue and runs after, where the lease alone would have it skipped
as "running already". Real workers against the emulators; the ticks' cron is left out (the
tests defer the tick themselves), so no other job runs meanwhile."""

from __future__ import annotations

import threading
from collections.abc import Callable

import httpx
import pytest
from sqlalchemy import Engine, select, text

from tests.services.sync.conftest import Paired
from tests.services.sync.support import SYNC
from ticketbridge.services.sync import admin
from ticketbridge.storage.models.sync import SyncRow, SyncRun
from ticketbridge.worker import tasks
from ticketbridge.worker.runner import ProcrastinateRunner

WAIT = 30  # seconds: a bound on a stuck test, never a pause


@pytest.fixture
def workers(paired: Paired) -> Callable[[], ProcrastinateRunner]:
    if not paired.runtime.settings.uses_postgresql:
        pytest.skip("procrastinate workers run on PostgreSQL only")

    def worker() -> ProcrastinateRunner:
        made = ProcrastinateRunner(paired.runtime)
        made.app.periodic_registry.periodic_tasks.clear()
        return made

    return worker


def _jobs(engine: Engine) -> list[tuple[str, str, str | None, str | None]]:
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT task_name, status, lock, queueing_lock FROM procrastinate_jobs ORDER BY id"
            )
        )
        return [(name, str(status), lock, queueing) for name, status, lock, queueing in rows]


def _events(engine: Engine) -> list[tuple[int, str]]:
    """(job, event) of the sync runs' jobs, in the order procrastinate recorded them."""
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT e.job_id, e.type FROM procrastinate_events e"
                " JOIN procrastinate_jobs j ON j.id = e.job_id"
                " WHERE j.task_name = 'sync.run' AND e.type IN ('started', 'succeeded')"
                " ORDER BY e.id"
            )
        )
        return [(job, str(kind)) for job, kind in rows]


def _runs(paired: Paired) -> list[str]:
    with paired.db() as session:
        return list(session.scalars(select(SyncRun.status).order_by(SyncRun.id)))


def test_a_requested_run_on_workers_is_a_job_under_the_syncs_lock(
    paired: Paired, workers: Callable[[], ProcrastinateRunner]
) -> None:
    with paired.db() as session:
        row = session.get(SyncRow, paired.sync_id)
        assert row is not None
        admin.request_run(session, row, actor="test", now=paired.clock())
        session.commit()
    runner = workers().open()
    runner.defer("sync.run_requested")
    runner.work(wait=False, concurrency=1)  # the tick, then the job it deferred
    runner.close()

    lock = tasks.sync_lock(paired.sync_id)
    assert _jobs(paired.runtime.engine) == [
        ("sync.run_requested", "succeeded", "sync.run_requested", "sync.run_requested"),
        ("sync.run", "succeeded", lock, lock),
    ]
    assert _runs(paired) == ["succeeded"]


def test_a_second_run_of_a_sync_waits_for_the_worker_running_it(
    paired: Paired, workers: Callable[[], ProcrastinateRunner]
) -> None:
    listing, release = threading.Event(), threading.Event()

    def hold_the_first_listing(request: httpx.Request) -> httpx.Response | None:
        # The first run stops at its Autotask listing until the test lets it go on.
        if request.url.path.endswith("/Tickets/query") and not listing.is_set():
            listing.set()
            release.wait(WAIT)
        return None

    paired.world.routes.refuse = hold_the_first_listing
    deferring = workers().open()
    deferring.defer_sync_runs(paired.runtime, [SYNC])
    first = workers()
    running = threading.Thread(target=lambda: first.work(wait=False, concurrency=1))
    running.start()
    try:
        assert listing.wait(WAIT), "the first worker never started the run"
        deferring.defer_sync_runs(paired.runtime, [SYNC])  # asked again meanwhile
        deferring.defer_sync_runs(paired.runtime, [SYNC])  # and again: one queued run
        workers().work(wait=False)  # a second worker finds nothing it may take

        jobs = _jobs(paired.runtime.engine)
        assert [status for _, status, _, _ in jobs] == ["doing", "todo"]  # it waits its turn
        lock = tasks.sync_lock(paired.sync_id)
        assert {(name, lock_, queueing) for name, _, lock_, queueing in jobs} == {
            ("sync.run", lock, lock)
        }
    finally:
        release.set()
        running.join(WAIT)
    workers().work(wait=False)
    deferring.close()

    assert [status for _, status, _, _ in _jobs(paired.runtime.engine)] == ["succeeded"] * 2
    [(one, _), (_, _), (two, _), (_, _)] = _events(paired.runtime.engine)
    assert _events(paired.runtime.engine) == [
        (one, "started"),
        (one, "succeeded"),
        (two, "started"),
        (two, "succeeded"),
    ]
    assert _runs(paired) == ["succeeded", "succeeded"]  # neither was skipped as running
