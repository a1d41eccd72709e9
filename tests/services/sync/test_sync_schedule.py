"""Enabled syncs run on their interval from the worker's minute tick (issue 14, item 9): never
a disabled one, never one a run holds, and each once per interval however often the tick
comes."""

from __future__ import annotations

from sqlalchemy import select, update

from tests.services.sync.conftest import Paired
from tests.services.sync.support import new_ticket
from ticketbridge.services.sync import store
from ticketbridge.storage.models.sync import SyncRow, SyncRun
from ticketbridge.worker import tasks


def _runs(paired: Paired) -> list[SyncRun]:
    with paired.db() as session:
        return list(session.scalars(select(SyncRun).where(SyncRun.sync_id == paired.sync_id)))


def _set(paired: Paired, **values: object) -> None:
    with paired.db() as session:
        session.execute(update(SyncRow).where(SyncRow.id == paired.sync_id).values(**values))
        session.commit()


def test_an_enabled_sync_runs_once_per_interval_and_a_disabled_one_never(paired: Paired) -> None:
    new_ticket(paired.runtime, paired.a, paired.acme, "Backup failed on FS07")
    tasks.sync_run_due(paired.runtime)
    assert _runs(paired) == []  # not enabled

    _set(paired, enabled=True, interval_seconds=300)
    tasks.sync_run_due(paired.runtime)  # never ran: due
    tasks.sync_run_due(paired.runtime)  # the same minute: not due again
    [first] = _runs(paired)
    assert first.status == "succeeded" and first.counts["a_to_b.ticket"]["created"] == 1

    paired.clock.advance(seconds=299)
    tasks.sync_run_due(paired.runtime)
    assert len(_runs(paired)) == 1
    paired.clock.advance(seconds=1)
    tasks.sync_run_due(paired.runtime)
    assert len(_runs(paired)) == 2


def test_a_sync_a_run_holds_is_left_to_that_run(paired: Paired) -> None:
    _set(paired, enabled=True)
    assert store.acquire(paired.db, paired.sync_id, paired.clock.now)

    tasks.sync_run_due(paired.runtime)

    assert _runs(paired) == []
