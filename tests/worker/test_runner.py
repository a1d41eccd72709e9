from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from ticketbridge.services.runtime import Runtime, build_runtime
from ticketbridge.services.system import heartbeat
from ticketbridge.settings import Settings
from ticketbridge.worker import tasks
from ticketbridge.worker.runner import InProcessRunner, ProcrastinateRunner

T0 = datetime(2026, 11, 20, 12, 0, 30, tzinfo=UTC)


@pytest.fixture
def runtime(settings: Settings, engine: Engine, db: sessionmaker[Session]) -> Runtime:
    return build_runtime(settings, engine=engine, clock=lambda: T0)


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []
    monkeypatch.setitem(tasks.TASKS, "test.record", lambda runtime, **kw: calls.append(kw))
    return calls


def test_in_process_runner_runs_deferred_jobs(
    runtime: Runtime, recorded: list[dict[str, Any]]
) -> None:
    runner = InProcessRunner(runtime)
    runner.defer("test.record", customer_id=7)
    runner.drain()

    assert recorded == [{"customer_id": 7}]
    runner.stop()


def test_in_process_runner_refuses_unknown_tasks(runtime: Runtime) -> None:
    runner = InProcessRunner(runtime)
    with pytest.raises(KeyError):
        runner.defer("no.such.task")
    runner.stop()


def test_periodic_heartbeat_runs_when_due_and_is_recorded(runtime: Runtime) -> None:
    runner = InProcessRunner(runtime)

    assert runner.run_due(T0) == []  # first look only plans the next tick
    assert runner.run_due(T0 + timedelta(seconds=10)) == []
    # Other every-minute schedules (mail polling) are due at the same tick.
    assert "system.heartbeat" in runner.run_due(T0 + timedelta(seconds=31))
    runner.drain()

    with runtime.session_factory() as session:
        beat = heartbeat.last_beat(session)
    assert beat == {"at": T0.isoformat(), "mode": "inprocess"}
    runner.stop()


def test_in_process_runner_never_runs_one_task_twice_at_once(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    started = threading.Event()
    release = threading.Event()
    runs: list[int] = []

    def slow(runtime: Runtime) -> None:
        runs.append(1)
        started.set()
        release.wait(timeout=10)

    monkeypatch.setitem(tasks.TASKS, "test.slow", slow)
    runner = InProcessRunner(runtime, threads=2)
    runner._locks["test.slow"] = threading.Lock()
    runner.defer("test.slow")
    assert started.wait(timeout=10)
    runner.defer("test.slow")  # skipped: the first is still running
    release.set()
    runner.drain()

    assert runs == [1]
    runner.stop()


@pytest.fixture
def pg_runtime(runtime: Runtime) -> Runtime:
    if not runtime.settings.uses_postgresql:
        pytest.skip("procrastinate workers run on PostgreSQL only")
    return runtime


def _jobs(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT task_name, status FROM procrastinate_jobs ORDER BY id")
        )
        return [(name, str(status)) for name, status in rows]


def test_procrastinate_worker_runs_a_deferred_job(
    pg_runtime: Runtime, recorded: list[dict[str, Any]]
) -> None:
    runner = ProcrastinateRunner(pg_runtime).open()
    runner.defer("test.record", customer_id=3)
    runner.work(wait=False)
    runner.close()

    assert recorded == [{"customer_id": 3}]
    assert ("test.record", "succeeded") in _jobs(pg_runtime.engine)


def test_procrastinate_queueing_lock_keeps_one_job_queued(pg_runtime: Runtime) -> None:
    runner = ProcrastinateRunner(pg_runtime).open()
    runner.defer("system.heartbeat", unique_key="system.heartbeat", mode="procrastinate")
    runner.defer("system.heartbeat", unique_key="system.heartbeat", mode="procrastinate")

    assert _jobs(pg_runtime.engine) == [("system.heartbeat", "todo")]
    runner.work(wait=False)
    runner.close()

    with pg_runtime.session_factory() as session:
        assert heartbeat.last_beat(session) == {"at": T0.isoformat(), "mode": "procrastinate"}


def test_procrastinate_registers_every_periodic_schedule_with_a_lock(pg_runtime: Runtime) -> None:
    runner = ProcrastinateRunner(pg_runtime)
    for schedule in tasks.SCHEDULES:
        task = runner.app.tasks[schedule.task]
        assert task.lock == schedule.task
        assert task.queueing_lock == schedule.task
    periodic = {p.task.name for p in runner.app.periodic_registry.periodic_tasks.values()}
    assert periodic == {s.task for s in tasks.SCHEDULES}


def test_procrastinate_needs_postgresql(runtime: Runtime) -> None:
    if runtime.settings.uses_postgresql:
        pytest.skip("the SQLite half checks the refusal")
    with pytest.raises(ValueError, match="PostgreSQL"):
        ProcrastinateRunner(runtime)
