"""Finding runs, reviewing them, and taking a review back.

The review queue itself (Run Checks: jobs worst first, pages by cursor, review everything a
filter matches) is services/run_checks.py.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVarTuple

from sqlalchemy import Select, exists, func, or_, select, update
from sqlalchemy.orm import Session, contains_eager, selectinload

from ticketbridge.core.run_order import InvalidCursor as InvalidCursor
from ticketbridge.core.run_order import may_undo_review
from ticketbridge.core.statuses import RunStatus
from ticketbridge.services.system import audit
from ticketbridge.storage.models import Customer, Job, Run, RunObject, utcnow

# The run ids an audit event lists; a bulk review of thousands records its count and filter.
AUDITED_IDS = 200
SEARCH_MAX = 200


class RunNotFound(LookupError):
    pass


@dataclass(frozen=True)
class RunFilter:
    customer_id: int | None = None
    job_id: int | None = None
    statuses: tuple[RunStatus, ...] = ()
    product: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    reviewed: bool | None = None
    source: str | None = None
    # Free text over customer, job and host names, the remark, object names and messages.
    search: str = ""
    # Only runs stored when a page was shown (ids up to this): an action taken from the page
    # never reaches runs that arrived after it.
    upto: int | None = None


Columns = TypeVarTuple("Columns")


def filtered(query: Select[*Columns], filters: RunFilter) -> Select[*Columns]:
    """`query` (of runs) narrowed to `filters`. Customer and product reach runs through the
    ids of their jobs, so no join is needed: with one, SQLite would read every run of every
    job instead of the runs waiting for review (ix_runs_queue_*)."""
    if filters.customer_id is not None or filters.product:
        jobs = select(Job.id)
        if filters.customer_id is not None:
            jobs = jobs.where(Job.customer_id == filters.customer_id)
        if filters.product:
            jobs = jobs.where(Job.backup_product == filters.product)
        query = query.where(Run.job_id.in_(jobs))
    if filters.job_id is not None:
        query = query.where(Run.job_id == filters.job_id)
    if filters.statuses:
        query = query.where(Run.status.in_([s.value for s in filters.statuses]))
    if filters.since is not None:
        query = query.where(Run.started_at >= filters.since)
    if filters.until is not None:
        query = query.where(Run.started_at < filters.until)
    if filters.reviewed is True:
        query = query.where(Run.reviewed_at.is_not(None))
    elif filters.reviewed is False:
        query = query.where(Run.reviewed_at.is_(None))
    if filters.source:
        query = query.where(Run.source == filters.source)
    if filters.upto is not None:
        query = query.where(Run.id <= filters.upto)
    if filters.search.strip():
        query = query.where(_matches(filters.search.strip()[:SEARCH_MAX]))
    return query


def _matches(text: str) -> Any:
    """Case-insensitive substring search; % and _ in the text are taken literally. Names live
    in the small customer and job tables, so they are matched there and reach runs by job."""
    named_jobs = (
        select(Job.id)
        .join(Job.customer)
        .where(
            or_(
                Customer.name.icontains(text, autoescape=True),
                Job.job_name.icontains(text, autoescape=True),
                Job.host.icontains(text, autoescape=True),
            )
        )
    )
    # Looked up run by run (ix_run_objects_run_id): the runs a page considers are few next to
    # all objects stored, which PostgreSQL would otherwise read in full to hash the matches
    # (OFFSET 0 keeps the subquery as it is written).
    in_objects = exists(
        select(RunObject.id)
        .where(
            RunObject.run_id == Run.id,
            or_(
                RunObject.name.icontains(text, autoescape=True),
                RunObject.message.icontains(text, autoescape=True),
            ),
        )
        .offset(0)
    )
    return or_(
        Run.job_id.in_(named_jobs), Run.overall_remark.icontains(text, autoescape=True), in_objects
    )


def with_job(query: Select[Any]) -> Select[Any]:
    """Runs with their job and customer loaded in the same statement."""
    return (
        query.join(Run.job)
        .join(Job.customer)
        .options(contains_eager(Run.job).contains_eager(Job.customer))
    )


def _base() -> Select[Any]:
    return with_job(select(Run))


def encode_cursor(run_id: int) -> str:
    return base64.urlsafe_b64encode(f"r{run_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not raw.startswith("r"):
            raise ValueError(raw)
        return int(raw[1:])
    except (ValueError, UnicodeDecodeError, binascii.Error) as exc:
        raise InvalidCursor("cursor is not one this API returned") from exc


def page_of_runs(
    session: Session, filters: RunFilter, *, cursor: str | None, limit: int
) -> tuple[list[Run], str | None]:
    """Newest first by id; the cursor is opaque to callers and stable under inserts."""
    query = filtered(_base(), filters).options(selectinload(Run.objects))
    if cursor:
        query = query.where(Run.id < decode_cursor(cursor))
    rows = list(session.scalars(query.order_by(Run.id.desc()).limit(limit + 1)).unique())
    next_cursor = encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
    return rows[:limit], next_cursor


def get_run(session: Session, run_id: int) -> Run:
    run = session.scalars(
        _base().where(Run.id == run_id).options(selectinload(Run.objects))
    ).first()
    if run is None:
        raise RunNotFound(f"run {run_id} does not exist")
    return run


def review(
    session: Session,
    run_ids: Sequence[int],
    *,
    actor: str,
    note: str = "",
    now: datetime | None = None,
) -> list[Run]:
    """Mark runs reviewed. A run reviewed before keeps its first reviewer (no double counting)."""
    runs = list(session.scalars(select(Run).where(Run.id.in_(run_ids))))
    missing = set(run_ids) - {run.id for run in runs}
    if missing:
        raise RunNotFound(f"run {min(missing)} does not exist")
    now = now or utcnow()
    newly = [run for run in runs if run.reviewed_at is None]
    for run in newly:
        run.reviewed_at = now
        run.reviewed_by = actor
        run.review_note = note.strip()
    if newly:
        record_review(session, [run.id for run in newly], actor=actor, note=note, at=now)
    return runs


def record_review(
    session: Session,
    run_ids: Sequence[int],
    *,
    actor: str,
    note: str,
    at: datetime,
    count: int | None = None,
    matching: str = "",
) -> None:
    """The audit event of one review action. Its time identifies the action: every run it
    reviewed carries that time, which is how Undo finds them again."""
    details: dict[str, Any] = {
        "run_ids": list(run_ids[:AUDITED_IDS]),
        "count": count if count is not None else len(run_ids),
        "note": note.strip(),
        "reviewed_at": at.isoformat(),
    }
    if matching:
        details["matching"] = matching
    audit.record(
        session,
        actor=actor,
        action="runs.review",
        subject=", ".join(f"run {run_id}" for run_id in run_ids[:20]),
        details=details,
    )


@dataclass(frozen=True)
class Unreviewed:
    count: int
    refused: int  # asked for but not taken back: someone else's, or too late
    run_ids: list[int]


def unreview(
    session: Session,
    *,
    actor: str,
    is_admin: bool,
    now: datetime,
    grace: timedelta,
    run_ids: Sequence[int] = (),
    reviewed_at: datetime | None = None,
) -> Unreviewed:
    """Take reviews back: the runs named, or every run of one review action (its time), that
    `actor` reviewed (any reviewer's, for an admin) within the grace period. The run is back
    in the queue as if never reviewed; the audit keeps who had reviewed it, when, and the note."""
    if not run_ids and reviewed_at is None:
        return Unreviewed(0, 0, [])
    query = select(Run.id, Run.reviewed_at, Run.reviewed_by, Run.review_note).where(
        Run.reviewed_at.is_not(None)
    )
    if run_ids:
        query = query.where(Run.id.in_(run_ids))
    if reviewed_at is not None:
        query = query.where(Run.reviewed_at == reviewed_at)
        if not is_admin:
            query = query.where(Run.reviewed_by == actor)
    rows = session.execute(query.order_by(Run.id)).all()
    allowed = [
        row
        for row in rows
        if may_undo_review(
            reviewed_at=row.reviewed_at,
            reviewed_by=row.reviewed_by,
            actor=actor,
            is_admin=is_admin,
            now=now,
            grace=grace,
        )
    ]
    asked = len(set(run_ids)) if run_ids else len(rows)
    if not allowed:
        return Unreviewed(0, asked, [])
    ids = [row.id for row in allowed]
    for start in range(0, len(ids), 1000):
        session.execute(
            update(Run)
            .where(Run.id.in_(ids[start : start + 1000]))
            .values(reviewed_at=None, reviewed_by=None, review_note="")
            .execution_options(synchronize_session=False)
        )
    reviews = sorted({(row.reviewed_by or "", row.reviewed_at.isoformat()) for row in allowed})
    audit.record(
        session,
        actor=actor,
        action="runs.unreview",
        subject=", ".join(f"run {run_id}" for run_id in ids[:20]),
        details={
            "run_ids": ids[:AUDITED_IDS],
            "count": len(ids),
            "reviews": [{"reviewed_by": by, "reviewed_at": at} for by, at in reviews[:20]],
            "notes": sorted({row.review_note for row in allowed if row.review_note})[:20],
        },
    )
    session.expire_all()
    return Unreviewed(len(ids), asked - len(ids), ids)


def unreviewed_count(session: Session) -> int:
    return session.scalar(select(func.count(Run.id)).where(Run.reviewed_at.is_(None))) or 0


def products(session: Session) -> list[str]:
    return list(session.scalars(select(Job.backup_product).distinct().order_by(Job.backup_product)))
