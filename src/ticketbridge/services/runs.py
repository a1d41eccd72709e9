"""Finding and reviewing runs."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, contains_eager, selectinload

from ticketbridge.core.statuses import RunStatus
from ticketbridge.services import audit
from ticketbridge.storage.models import Customer, Job, Run, utcnow


class RunNotFound(LookupError):
    pass


class InvalidCursor(ValueError):
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


def filtered(query: Select[Any], filters: RunFilter) -> Select[Any]:
    if filters.customer_id is not None:
        query = query.where(Job.customer_id == filters.customer_id)
    if filters.job_id is not None:
        query = query.where(Run.job_id == filters.job_id)
    if filters.statuses:
        query = query.where(Run.status.in_([s.value for s in filters.statuses]))
    if filters.product:
        query = query.where(Job.backup_product == filters.product)
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
    return query


def _base() -> Select[Any]:
    return (
        select(Run)
        .join(Run.job)
        .join(Job.customer)
        .options(contains_eager(Run.job).contains_eager(Job.customer))
    )


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


def review(session: Session, run_ids: Sequence[int], *, actor: str, note: str = "") -> list[Run]:
    """Mark runs reviewed. A run reviewed before keeps its first reviewer (no double counting)."""
    runs = list(session.scalars(select(Run).where(Run.id.in_(run_ids))))
    missing = set(run_ids) - {run.id for run in runs}
    if missing:
        raise RunNotFound(f"run {min(missing)} does not exist")
    now = utcnow()
    newly = [run for run in runs if run.reviewed_at is None]
    for run in newly:
        run.reviewed_at = now
        run.reviewed_by = actor
        run.review_note = note.strip()
    if newly:
        audit.record(
            session,
            actor=actor,
            action="runs.review",
            subject=", ".join(f"run {run.id}" for run in newly[:20]),
            details={"run_ids": [run.id for run in newly], "note": note.strip()},
        )
    return runs


@dataclass(frozen=True)
class RunChecksPage:
    runs: list[Run]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def run_checks(session: Session, filters: RunFilter, *, page: int, per_page: int) -> RunChecksPage:
    """The review queue: runs grouped by customer and job, newest first inside each job."""
    count = select(func.count(Run.id))
    if filters.customer_id is not None or filters.product:
        # Only these filters read jobs; both joins are on non-null foreign keys, so leaving
        # them out never changes the count.
        count = count.join(Run.job)
    total = session.scalar(filtered(count, filters)) or 0
    query = filtered(_base(), filters).order_by(
        Customer.name, Job.job_name, Job.id, Run.started_at.desc(), Run.id.desc()
    )
    rows = session.scalars(query.offset((page - 1) * per_page).limit(per_page)).unique().all()
    return RunChecksPage(list(rows), total, page, per_page)


def unreviewed_count(session: Session) -> int:
    return session.scalar(select(func.count(Run.id)).where(Run.reviewed_at.is_(None))) or 0


def job_runs(session: Session, job_id: int, *, page: int, per_page: int) -> RunChecksPage:
    query = select(Run).where(Run.job_id == job_id)
    total = session.scalar(select(func.count(Run.id)).where(Run.job_id == job_id)) or 0
    rows = session.scalars(
        query.order_by(Run.started_at.desc(), Run.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return RunChecksPage(list(rows), total, page, per_page)


def products(session: Session) -> list[str]:
    return list(session.scalars(select(Job.backup_product).distinct().order_by(Job.backup_product)))
