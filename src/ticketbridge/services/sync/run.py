"""Run one sync: take its lease, open both connections, run each direction that is switched
on, move the watermarks by core/sync's rule, and keep the run as a row with its counts.

A dry run reads both PSAs the same way and returns the plan (core/sync/dry_run) without
writing anything: no copy, no reference, no failure, no watermark, no run row, no lease; only
the time of the last dry run that completed is kept, as a sync is enabled only after one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from ticketbridge.connectors.errors import ConnectorError
from ticketbridge.core.psa_governor import Priority
from ticketbridge.core.sync import dry_run as dry_run_rules
from ticketbridge.core.sync.id_sets import IdSet
from ticketbridge.core.sync.run_counts import RunCounts
from ticketbridge.core.sync.sides import Direction, EntityKind, Side
from ticketbridge.services.connections import active
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.sync import admin, attachments, config, notes, store
from ticketbridge.services.sync.tickets import DirectionOutcome, DirectionRun, DirectionSides
from ticketbridge.storage.db import session_scope
from ticketbridge.storage.models.sync import SyncRow, SyncRun

# Results in a run's errors that leave something for an operator (a retry due, a table row
# missing), so the run ends ``partial``; the others (a person not linked, a file too large) are
# said and need nothing.
NEEDS_AN_OPERATOR = frozenset({"failed", "unmapped"})
# Told per ticket read: the direction, and how many of its tickets were done so far.
Progress = Callable[[Direction, int, int], None]


class SyncBusy(Exception):
    """Another run of this sync holds its lease."""


class UnknownSync(LookupError):
    def __init__(self, name: str) -> None:
        super().__init__(f"There is no sync named {name!r}.")
        self.message = str(self)


@dataclass
class RunReport:
    sync_id: int
    run_id: int | None  # None for a dry run
    status: str
    counts: RunCounts = field(default_factory=RunCounts)
    errors: list[dict[str, str]] = field(default_factory=list)
    diff: dry_run_rules.DryRunDiff | None = None


def find(runtime: Runtime, name: str) -> SyncRow:
    with runtime.session_factory() as session:
        row = session.scalar(select(SyncRow).where(SyncRow.name == name))
    if row is None:
        raise UnknownSync(name)
    return row


def run(
    runtime: Runtime, name: str, *, dry_run: bool = False, progress: Progress | None = None
) -> RunReport:
    """Run the sync ``name`` once (both directions that are on). Raises UnknownSync or
    SyncBusy; a connection disabled or incomplete, or a PSA that fails a listing, ends the run
    as "failed" with the reason in its errors."""
    row = find(runtime, name)
    if dry_run:
        return _run(runtime, row, None, dry_run=True, progress=progress)
    started = runtime.clock()
    if not store.acquire(runtime.session_factory, row.id, started):
        raise SyncBusy(f"The sync {name!r} is running already.")
    try:
        with session_scope(runtime.session_factory) as session:
            record = SyncRun(sync_id=row.id, started_at=started, status="running")
            session.add(record)
            session.flush()
            run_id = record.id
        try:
            return _run(runtime, row, run_id, dry_run=False, progress=progress)
        except Exception as exc:
            # A bug, not a PSA: the run row says so instead of staying "running".
            _finish(
                runtime,
                RunReport(
                    row.id,
                    run_id,
                    "failed",
                    errors=[{"error": f"{type(exc).__name__}: {exc}", "result": "run failed"}],
                ),
            )
            raise
    finally:
        store.release(runtime.session_factory, row.id)


@contextmanager
def _connectors(runtime: Runtime, row: SyncRow) -> Iterator[dict[Side, active.ActiveConnection]]:
    """Both connections, ready; the session that read their settings is closed before any
    PSA is asked anything."""
    with ExitStack() as stack:
        with runtime.session_factory() as session:
            opened = {
                side: stack.enter_context(
                    active.active(runtime, session, connection_id, priority=Priority.ROUNDTRIP)
                )
                for side, connection_id in (
                    (Side.A, row.connection_a_id),
                    (Side.B, row.connection_b_id),
                )
            }
        yield opened


def _run(
    runtime: Runtime,
    row: SyncRow,
    run_id: int | None,
    *,
    dry_run: bool,
    progress: Progress | None,
) -> RunReport:
    report = RunReport(row.id, run_id, "succeeded")
    planned = dry_run_rules.DryRunPlan()
    started = runtime.clock()
    policy = config.watermark_policy(row)
    # Kept to the files pass, so compact (core/sync/id_sets): ids read, copies made.
    touched = {Side.A: IdSet(), Side.B: IdSet()}
    made = {Side.A: IdSet(), Side.B: IdSet()}
    try:
        with _connectors(runtime, row) as psas:
            for direction in config.directions(row):
                with runtime.session_factory() as session:
                    settings = config.direction_config(session, row, direction)
                    stored = store.watermark(session, row.id, direction, EntityKind.TICKET)
                sides = DirectionSides(
                    source=psas[direction.source].connector,
                    target=psas[direction.target].connector,
                    target_defaults=psas[direction.target].defaults,
                    source_connection_id=psas[direction.source].connection_id,
                )
                worker = DirectionRun(
                    runtime.session_factory,
                    row.id,
                    settings,
                    sides,
                    runtime.clock,
                    dry_run,
                    run_id=run_id,
                    both_ways=len(config.directions(row)) == 2,
                )
                outcome = _direction(worker, policy.query_from(stored), progress)
                report.counts = report.counts + outcome.counts
                report.errors += outcome.errors
                planned.merge(outcome.planned)
                if outcome.stopped is not None:
                    # Its pages are not in time order (PsaConnector.changed_pages), so nothing
                    # is known of what it did not read: its watermark stays. What it wrote is
                    # recorded, and read again next time it costs a skip.
                    raise outcome.stopped
                if not dry_run:
                    moved = policy.after_run(stored, run_started_at=started, items=outcome.progress)
                    with session_scope(runtime.session_factory) as session:
                        store.save_watermark(session, row.id, direction, EntityKind.TICKET, moved)
                touched[direction.source] |= outcome.read
                made[direction.target] |= outcome.made
                notes_outcome = _notes(
                    runtime, row, direction, psas, started, dry_run, made[direction.target], run_id
                )
                _add(report, planned, notes_outcome)
            connectors = {side: psas[side].connector for side in psas}
            files = attachments.run_pairs(
                runtime.session_factory,
                row.id,
                config.directions(row),
                connectors,
                runtime.clock,
                touched=touched,
                made=made,
                dry_run=dry_run,
            )
            _add(report, planned, files)
    except (ConnectorError, active.IntegrationUnavailable) as exc:
        # A connection unusable, or a listing or batched read failed: the direction it
        # happened in moves no watermark; the next run reads it again.
        report.status = "failed"
        report.errors.append({"error": _message(exc), "result": "run failed"})
    if report.status != "failed" and any(
        e.get("result") in NEEDS_AN_OPERATOR for e in report.errors
    ):
        report.status = "partial"
    if dry_run:
        report.diff = planned.diff()
        if report.status != "failed":
            admin.mark_dry_run(runtime.session_factory, row.id, runtime.clock())
    else:
        _finish(runtime, report)
    return report


def _notes(
    runtime: Runtime,
    row: SyncRow,
    direction: Direction,
    psas: dict[Side, active.ActiveConnection],
    started: datetime,
    dry_run: bool,
    made: IdSet,
    run_id: int | None,
) -> DirectionOutcome:
    return notes.run_direction(
        runtime.session_factory,
        row.id,
        direction,
        {side: psas[side].connector for side in psas},
        runtime.clock,
        policy=config.watermark_policy(row),
        run_started_at=started,
        dry_run=dry_run,
        made=made,
        run_id=run_id,
        both_ways=len(config.directions(row)) == 2,
    )


def _add(
    report: RunReport,
    planned: dry_run_rules.DryRunPlan,
    more: DirectionOutcome,
) -> None:
    report.counts = report.counts + more.counts
    report.errors += more.errors
    planned.merge(more.planned)


def _direction(
    worker: DirectionRun, since: datetime, progress: Progress | None
) -> DirectionOutcome:
    if progress is not None:
        direction = worker.config.direction
        worker.on_item = lambda done, total: progress(direction, done, total)
    return worker.run(since)


def _message(exc: Exception) -> str:
    return str(getattr(exc, "message", None) or exc)


def counts_json(counts: RunCounts) -> dict[str, Any]:
    """The run row's counts: per direction and kind, as plain numbers."""
    return {
        f"{direction.value}.{kind.value}": asdict(figures)
        for (direction, kind), figures in sorted(counts.by_direction.items())
    }


def _finish(runtime: Runtime, report: RunReport) -> None:
    with session_scope(runtime.session_factory) as session:
        record = session.get(SyncRun, report.run_id)
        if record is not None:
            record.finished_at = runtime.clock()
            record.status = report.status
            record.counts = counts_json(report.counts)
            record.errors = report.errors[:200]
