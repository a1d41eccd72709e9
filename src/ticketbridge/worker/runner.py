"""The one seam for deferring jobs and running periodic schedules.

- InProcessRunner: the embedded default (SQLite). Threads inside `ticketbridge serve`.
- ProcrastinateRunner: PostgreSQL. `ticketbridge worker` processes run the jobs; several may run
  on several machines. A periodic job is deferred once per tick across all of them (procrastinate
  records each tick) and carries a lock, so it never runs twice at once. The syncs a sync tick
  finds are each deferred as a `sync.run` job under the sync's own lock: two workers never run
  one sync at once, and a run asked for while another worker runs that sync waits its turn in
  the queue (the sync's lease, which keeps the CLI apart, would have it skipped).
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import Any, Protocol

import procrastinate
from croniter import croniter
from procrastinate.exceptions import AlreadyEnqueued
from sqlalchemy.engine import make_url

from ticketbridge.services.runtime import Runtime
from ticketbridge.worker.observe import skipped
from ticketbridge.worker.tasks import (
    SCHEDULES,
    SYNC_TICKS,
    TASKS,
    Schedule,
    sync_ids,
    sync_lock,
)

log = logging.getLogger(__name__)


class Runner(Protocol):
    def defer(self, task_name: str, *, unique_key: str | None = None, **kwargs: Any) -> None:
        """Queue a job. With a unique_key, a job with the same key that is still queued makes
        this one a no-op."""


class InProcessRunner:
    def __init__(self, runtime: Runtime, *, threads: int = 2) -> None:
        self.runtime = runtime
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="tb-job")
        self._locks = {name: threading.Lock() for name in TASKS}
        self._pending: list[Future[None]] = []
        self._next_due: dict[str, datetime] = {}
        self._stop = threading.Event()
        self._scheduler: threading.Thread | None = None

    def defer(self, task_name: str, *, unique_key: str | None = None, **kwargs: Any) -> None:
        # In-process, the per-task lock in _run already keeps a second copy from running.
        if task_name not in TASKS:
            raise KeyError(f"no task named {task_name!r}")
        self._pending.append(self._pool.submit(self._run, task_name, kwargs))

    def _run(self, task_name: str, kwargs: dict[str, Any]) -> None:
        lock = self._locks[task_name]
        if not lock.acquire(blocking=False):
            log.info("%s is still running; this run is skipped", task_name)
            skipped(task_name)
            return
        try:
            TASKS[task_name](self.runtime, **kwargs)
        except Exception:
            log.exception("background task %s failed", task_name)
        finally:
            lock.release()

    def run_due(self, now: datetime) -> list[str]:
        """Defer every schedule that is due at `now`; returns their task names."""
        due = []
        for schedule in SCHEDULES:
            next_at = self._next_due.get(schedule.task)
            if next_at is None:
                self._next_due[schedule.task] = croniter(schedule.cron, now).get_next(datetime)
                continue
            if now >= next_at:
                self.defer(schedule.task, **dict(schedule.kwargs))
                self._next_due[schedule.task] = croniter(schedule.cron, now).get_next(datetime)
                due.append(schedule.task)
        return due

    def drain(self) -> None:
        """Wait for every deferred job (tests and shutdown)."""
        while self._pending:
            self._pending.pop().result()

    def start(self) -> InProcessRunner:
        self.run_due(self.runtime.clock())
        self._scheduler = threading.Thread(target=self._loop, name="tb-scheduler", daemon=True)
        self._scheduler.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(timeout=1.0):
            self.run_due(self.runtime.clock())
            self._pending = [f for f in self._pending if not f.done()]

    def stop(self) -> None:
        self._stop.set()
        if self._scheduler is not None:
            self._scheduler.join(timeout=5)
        self._pool.shutdown(wait=True)


def libpq_conninfo(database_url: str) -> str:
    """procrastinate speaks plain libpq URLs, without SQLAlchemy's driver suffix."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


class ProcrastinateRunner:
    def __init__(self, runtime: Runtime) -> None:
        if not runtime.settings.uses_postgresql:
            raise ValueError("procrastinate workers need PostgreSQL (TICKETBRIDGE_DATABASE_URL)")
        self.runtime = runtime
        connector = procrastinate.PsycopgConnector(
            conninfo=libpq_conninfo(runtime.settings.effective_database_url)
        )
        self.app = procrastinate.App(connector=connector)
        periodic = {schedule.task: schedule for schedule in SCHEDULES}
        for name, body in TASKS.items():
            self._register(name, body, periodic.get(name))

    def _register(self, name: str, body: Any, schedule: Schedule | None) -> None:
        runtime = self.runtime

        def run(**kwargs: Any) -> None:
            kwargs.pop("timestamp", None)  # procrastinate adds it to periodic jobs
            if name in SYNC_TICKS:
                kwargs["runs"] = self.defer_sync_runs
            body(runtime, **kwargs)

        run.__name__ = name.replace(".", "_")
        registered = self.app.task(
            name=name,
            lock=name if schedule else None,
            queueing_lock=name if schedule else None,
        )(run)
        if schedule is not None:
            self.app.periodic(cron=schedule.cron, periodic_id=name)(registered)  # type: ignore[arg-type]

    def defer(
        self,
        task_name: str,
        *,
        unique_key: str | None = None,
        lock: str | None = None,
        **kwargs: Any,
    ) -> None:
        """Queue a job; with a ``lock``, no two jobs holding it run at once (the later one
        waits in the queue, on every worker)."""
        try:
            self.app.configure_task(
                task_name, allow_unknown=False, queueing_lock=unique_key, lock=lock
            ).defer(**kwargs)
        except AlreadyEnqueued:
            log.info("%s is queued already; not queued twice", task_name)

    def defer_sync_runs(self, runtime: Runtime, names: list[str]) -> None:
        """Each sync a tick found as a ``sync.run`` job under the sync's lock; one already
        queued for a sync is its run (asking twice before it starts is one run)."""
        for sync_id in sync_ids(runtime, names):
            key = sync_lock(sync_id)
            self.defer("sync.run", unique_key=key, lock=key, sync_id=sync_id)

    def open(self) -> ProcrastinateRunner:
        self.app.open()
        return self

    def close(self) -> None:
        self.app.close()

    def work(self, *, wait: bool = True, concurrency: int = 2) -> None:
        self.app.run_worker(wait=wait, concurrency=concurrency, install_signal_handlers=wait)
