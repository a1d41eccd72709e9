"""The sync's rows read and written for a run: the lease, watermarks, reference-map entries,
recorded failures, the conflict log and the run row. Callers own the transaction; nothing
here talks to a PSA."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker
from sqlalchemy.sql.elements import ColumnElement

from ticketbridge.core.sync.batching import pages
from ticketbridge.core.sync.conflicts import Conflict
from ticketbridge.core.sync.content_hash import combine
from ticketbridge.core.sync.failures import ItemFailure
from ticketbridge.core.sync.reference_map import ReferenceEntry, SideRecord
from ticketbridge.core.sync.sides import Direction, EntityKind, Side
from ticketbridge.storage.db import session_scope
from ticketbridge.storage.models.sync import (
    SyncConflict,
    SyncFailure,
    SyncReference,
    SyncRow,
    SyncWatermark,
)

# A run renews nothing: a crashed run's lease expires after this, and a run is expected to
# finish well within it (pages of 100, one write per created ticket).
LEASE = timedelta(hours=1)
# SQL "in" lists stay well under every database's parameter limit.
IN_PAGE = 500


def acquire(factory: sessionmaker[Session], sync_id: int, now: datetime) -> bool:
    """Take the sync's lease with one conditional UPDATE: one run per sync at a time, on any
    database and across processes, without holding a connection while PSAs answer."""
    with session_scope(factory) as session:
        result = session.execute(
            update(SyncRow)
            .where(SyncRow.id == sync_id)
            .where(or_(SyncRow.lease_until.is_(None), SyncRow.lease_until < now))
            .values(lease_until=now + LEASE)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0) == 1


def release(factory: sessionmaker[Session], sync_id: int) -> None:
    with session_scope(factory) as session:
        session.execute(
            update(SyncRow)
            .where(SyncRow.id == sync_id)
            .values(lease_until=None)
            .execution_options(synchronize_session=False)
        )


def watermark(
    session: Session, sync_id: int, direction: Direction, kind: EntityKind
) -> datetime | None:
    return session.scalar(
        select(SyncWatermark.watermark).where(
            SyncWatermark.sync_id == sync_id,
            SyncWatermark.direction == direction.value,
            SyncWatermark.kind == kind.value,
        )
    )


def save_watermark(
    session: Session, sync_id: int, direction: Direction, kind: EntityKind, value: datetime
) -> None:
    row = session.scalar(
        select(SyncWatermark).where(
            SyncWatermark.sync_id == sync_id,
            SyncWatermark.direction == direction.value,
            SyncWatermark.kind == kind.value,
        )
    )
    if row is None:
        session.add(
            SyncWatermark(
                sync_id=sync_id, direction=direction.value, kind=kind.value, watermark=value
            )
        )
    else:
        row.watermark = value


def _side_column(side: Side) -> InstrumentedAttribute[str]:
    return SyncReference.a_id if side is Side.A else SyncReference.b_id


def references(
    session: Session, sync_id: int, kind: EntityKind, side: Side, ids: Iterable[str]
) -> dict[str, SyncReference]:
    """The entries of items ``ids`` on ``side``, by that side's id."""
    column = _side_column(side)
    found: dict[str, SyncReference] = {}
    for page in pages(ids, IN_PAGE):
        rows = session.scalars(
            select(SyncReference).where(
                SyncReference.sync_id == sync_id,
                SyncReference.kind == kind.value,
                column.in_(page),
            )
        )
        for row in rows:
            found[row.a_id if side is Side.A else row.b_id] = row
    return found


def entry_of(row: SyncReference) -> ReferenceEntry:
    return ReferenceEntry(
        kind=EntityKind(row.kind),
        a=SideRecord(row.a_id, row.a_hash, dict(row.a_field_hashes or {})),
        b=SideRecord(row.b_id, row.b_hash, dict(row.b_field_hashes or {})),
        origin=Side(row.origin),
        last_synced=row.last_synced,
        flagged=row.flagged,
    )


def settle(
    session: Session, reference_id: int, hashes: dict[Side, dict[str, str]], now: datetime
) -> None:
    """A ticket entry's field hashes (and content hash) of the sides given, as synced now."""
    stored = session.get(SyncReference, reference_id)
    if stored is None:
        return
    if Side.A in hashes:
        stored.a_field_hashes, stored.a_hash = hashes[Side.A], combine(hashes[Side.A])
    if Side.B in hashes:
        stored.b_field_hashes, stored.b_hash = hashes[Side.B], combine(hashes[Side.B])
    stored.last_synced = now


def failures(
    session: Session, sync_id: int, kind: EntityKind, side: Side
) -> dict[str, ItemFailure]:
    rows = session.scalars(
        select(SyncFailure).where(
            SyncFailure.sync_id == sync_id,
            SyncFailure.kind == kind.value,
            SyncFailure.side == side.value,
        )
    )
    return {row.item_id: _failure_of(row) for row in rows}


def _failure_of(row: SyncFailure) -> ItemFailure:
    return ItemFailure(
        kind=EntityKind(row.kind),
        side=Side(row.side),
        item_id=row.item_id,
        error=row.error,
        attempts=row.attempts,
        first_failed_at=row.first_failed_at,
        last_failed_at=row.last_failed_at,
        next_retry_at=row.next_retry_at,
    )


def _failure_filter(
    sync_id: int, kind: EntityKind, side: Side, item_id: str
) -> tuple[ColumnElement[bool], ...]:
    return (
        SyncFailure.sync_id == sync_id,
        SyncFailure.kind == kind.value,
        SyncFailure.side == side.value,
        SyncFailure.item_id == item_id,
    )


def save_failure(session: Session, sync_id: int, failure: ItemFailure) -> None:
    row = session.scalar(
        select(SyncFailure).where(
            *_failure_filter(sync_id, failure.kind, failure.side, failure.item_id)
        )
    )
    if row is None:
        row = SyncFailure(
            sync_id=sync_id,
            kind=failure.kind.value,
            side=failure.side.value,
            item_id=failure.item_id,
        )
        session.add(row)
    row.error = failure.error[:1000]
    row.attempts = failure.attempts
    row.first_failed_at = failure.first_failed_at
    row.last_failed_at = failure.last_failed_at
    row.next_retry_at = failure.next_retry_at


def clear_failure(
    session: Session, sync_id: int, kind: EntityKind, side: Side, item_id: str
) -> None:
    session.execute(delete(SyncFailure).where(*_failure_filter(sync_id, kind, side, item_id)))


def record_conflicts(
    session: Session,
    sync_id: int,
    run_id: int | None,
    kind: EntityKind,
    ids: tuple[str, str],
    found: Iterable[Conflict],
    now: datetime,
) -> int:
    """Keep each conflict's losing value in the log; ``ids`` are the item's ids on A and B. A
    conflict already logged with the same values is not logged again: both directions of a run,
    and every run until the item is synced, see the same one. Returns how many were new."""
    a_id, b_id = ids
    added = 0
    for conflict in found:
        winner_value = _text(conflict.winner_value)
        loser_value = _text(conflict.loser_value)
        logged = session.scalar(
            select(SyncConflict.id)
            .where(
                SyncConflict.sync_id == sync_id,
                SyncConflict.kind == kind.value,
                SyncConflict.a_id == a_id,
                SyncConflict.b_id == b_id,
                SyncConflict.field == conflict.field,
                SyncConflict.winner == conflict.winner.value,
                SyncConflict.winner_modified_at == conflict.winner_modified_at,
                SyncConflict.loser_modified_at == conflict.loser_modified_at,
            )
            .limit(1)
        )
        if logged is not None:
            continue
        session.add(
            SyncConflict(
                sync_id=sync_id,
                run_id=run_id,
                kind=kind.value,
                a_id=a_id,
                b_id=b_id,
                field=conflict.field,
                winner=conflict.winner.value,
                winner_value=winner_value,
                loser_value=loser_value,
                winner_modified_at=conflict.winner_modified_at,
                loser_modified_at=conflict.loser_modified_at,
                recorded_at=now,
            )
        )
        added += 1
    return added


def _text(value: object) -> str | None:
    return None if value is None else str(value)
