"""A sync changed, deleted or asked to run by an admin (API and page), and what its page reads:
failures waiting for their retry and the conflict log.

A sync is enabled only after a dry run (issue 14, item 8: the diff comes before enabling). Its
two connections are fixed once it is made: every stored id, hash and watermark belongs to one
side. It is not deleted while a run holds its lease. A run asked for here is a request the
worker takes (``sync.run_requested``), so no web request waits on two PSAs.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from ticketbridge.services.sync.syncs import (
    SyncRefused,
    check_directions,
    check_name,
    check_scope,
    check_start_date,
    connection_by_name,
)
from ticketbridge.services.system import audit
from ticketbridge.storage.db import add_or_rename, session_scope
from ticketbridge.storage.models import PsaConnection
from ticketbridge.storage.models.sync import SyncConflict, SyncFailure, SyncRow, SyncRun

DRY_RUN_FIRST = "run a dry run first: a sync is enabled once its diff has been seen"
ENTITIES = ("contacts", "teams", "categories")
# What change() changes; the connections are fixed when the sync is made.
EDITABLE = (
    "name",
    "a_to_b",
    "b_to_a",
    "scope_a",
    "scope_b",
    "mapping",
    "start_date",
    "entities",
    "enabled",
    "interval_seconds",
)


class SyncInUse(Exception):
    """The sync cannot be changed this way now (a run holds its lease)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def change(
    session: Session,
    row: SyncRow,
    changes: Mapping[str, Any],
    *,
    actor: str,
    now: datetime,
) -> SyncRow:
    """Apply ``changes`` (any of EDITABLE; connection_a/b only when unchanged). Raises
    SyncRefused naming the field."""
    for side in ("connection_a", "connection_b"):
        if side in changes and not _same_connection(session, row, side, changes[side]):
            raise SyncRefused(side, "the connections of a sync are fixed when it is made")
    unknown = sorted(set(changes) - set(EDITABLE) - {"connection_a", "connection_b"})
    if unknown:
        raise SyncRefused(unknown[0], "not a setting of a sync")
    a_to_b = bool(changes.get("a_to_b", row.a_to_b))
    b_to_a = bool(changes.get("b_to_a", row.b_to_a))
    check_directions(a_to_b, b_to_a)
    if "start_date" in changes:
        check_start_date(changes["start_date"])
    if changes.get("enabled") and not row.enabled and row.dry_run_at is None:
        raise SyncRefused("enabled", DRY_RUN_FIRST)
    interval = changes.get("interval_seconds", row.interval_seconds)
    if not 60 <= int(interval) <= 86_400:
        raise SyncRefused("interval_seconds", "between 60 seconds and a day")
    for side, connection_id in (("scope_a", row.connection_a_id), ("scope_b", row.connection_b_id)):
        if side in changes:
            connection = session.get(PsaConnection, connection_id)
            if connection is not None:
                changes = {**changes, side: check_scope(connection, side, changes[side] or {})}
    before = {name: _plain(getattr(row, name)) for name in EDITABLE}
    for name in EDITABLE:
        if name in changes and name != "name":
            setattr(row, name, _entities(changes[name]) if name == "entities" else changes[name])
    if "name" in changes:
        name = check_name(str(changes["name"]))
        if not add_or_rename(session, row, name):
            raise SyncRefused("name", f"another sync is named {name!r}")
    row.updated_by, row.updated_at = actor, now
    changed = {n: _plain(getattr(row, n)) for n in EDITABLE if _plain(getattr(row, n)) != before[n]}
    audit.record(
        session, actor=actor, action="sync.update", subject=f"sync {row.id}", details=changed
    )
    return row


def _same_connection(session: Session, row: SyncRow, side: str, value: Any) -> bool:
    current = row.connection_a_id if side == "connection_a" else row.connection_b_id
    if str(value) == str(current):
        return True
    named = connection_by_name(session, str(value))
    found = named.id if named is not None else None
    return found == current


def _entities(raw: Any) -> dict[str, bool]:
    raw = raw or {}
    unknown = sorted(set(raw) - set(ENTITIES))
    if unknown:
        raise SyncRefused(f"entities.{unknown[0]}", f"one of {', '.join(ENTITIES)}")
    return {name: bool(raw.get(name, False)) for name in ENTITIES}


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def delete_sync(session: Session, row: SyncRow, *, actor: str, now: datetime) -> None:
    """Delete the sync with its references, failures, runs and conflict log; refused while a
    run holds its lease (a crashed run's lease expires, store.LEASE)."""
    if row.lease_until is not None and row.lease_until > now:
        raise SyncInUse(f"The sync {row.name!r} is running; delete it once the run is over.")
    audit.record(session, actor=actor, action="sync.delete", subject=f"sync {row.id}", details={})
    session.delete(row)


def request_run(session: Session, row: SyncRow, *, actor: str, now: datetime) -> None:
    """Ask the worker for a run; asking again before it starts asks for one run."""
    if row.run_requested_at is None:
        row.run_requested_at = now
    audit.record(session, actor=actor, action="sync.run", subject=f"sync {row.id}", details={})


def take_requested(factory: sessionmaker[Session], now: datetime) -> list[str]:
    """The syncs a run was asked for, by name; each request is taken once (a conditional
    UPDATE per sync), so two workers never both take it. A sync whose run is still going
    keeps its request for the next tick."""
    with factory() as session:
        asked = list(
            session.execute(
                select(SyncRow.id, SyncRow.name)
                .where(SyncRow.run_requested_at.is_not(None))
                .where(or_(SyncRow.lease_until.is_(None), SyncRow.lease_until < now))
            )
        )
    taken = []
    for sync_id, name in asked:
        with session_scope(factory) as session:
            result = session.execute(
                update(SyncRow)
                .where(SyncRow.id == sync_id, SyncRow.run_requested_at.is_not(None))
                .values(run_requested_at=None)
                .execution_options(synchronize_session=False)
            )
            if int(getattr(result, "rowcount", 0) or 0) == 1:
                taken.append(name)
    return taken


def due(factory: sessionmaker[Session], now: datetime) -> list[str]:
    """The enabled syncs, by name, whose interval has passed since their last run started (or
    that never ran), and that no run holds. Two workers may both find one due: its lease lets
    one of them run it."""
    last = (
        select(SyncRun.sync_id, func.max(SyncRun.started_at).label("started"))
        .group_by(SyncRun.sync_id)
        .subquery()
    )
    with factory() as session:
        found = session.execute(
            select(SyncRow.name, SyncRow.interval_seconds, last.c.started)
            .outerjoin(last, last.c.sync_id == SyncRow.id)
            .where(SyncRow.enabled.is_(True))
            .where(or_(SyncRow.lease_until.is_(None), SyncRow.lease_until < now))
            .order_by(SyncRow.id)
        )
        return [
            name
            for name, interval, started in found
            if started is None or started + timedelta(seconds=interval) <= now
        ]


def mark_dry_run(factory: sessionmaker[Session], sync_id: int, now: datetime) -> None:
    with session_scope(factory) as session:
        session.execute(
            update(SyncRow)
            .where(SyncRow.id == sync_id)
            .values(dry_run_at=now)
            .execution_options(synchronize_session=False)
        )


def failures(session: Session, sync_id: int) -> list[SyncFailure]:
    """Items waiting for their retry, the next retry first."""
    return list(
        session.scalars(
            select(SyncFailure)
            .where(SyncFailure.sync_id == sync_id)
            .order_by(SyncFailure.next_retry_at, SyncFailure.id)
        )
    )


def conflicts(session: Session, sync_id: int, *, limit: int = 100) -> list[SyncConflict]:
    """The conflict log, newest first."""
    return list(
        session.scalars(
            select(SyncConflict)
            .where(SyncConflict.sync_id == sync_id)
            .order_by(SyncConflict.recorded_at.desc(), SyncConflict.id.desc())
            .limit(limit)
        )
    )
