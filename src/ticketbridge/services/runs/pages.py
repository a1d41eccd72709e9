"""Plain lists of runs (Run Checks one run per row, a job's history), paged by a cursor on the
sort key, so the last page costs what the first does.

Worst first reads one status at a time, each an index range in age order
(ix_runs_status_started_id, or ix_runs_queue_status_started_id for the runs waiting for
review), and never sorts the table; the other orders read ix_runs_started_id or
ix_runs_job_started_id. See core/run_order.py for the order itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, case, literal, select, tuple_
from sqlalchemy.orm import Session

from ticketbridge.core.run_order import (
    QUEUE_ORDER,
    Cursor,
    Direction,
    Sort,
    SortKey,
    encode_cursor,
    queue_rank,
)
from ticketbridge.core.statuses import RunStatus
from ticketbridge.services.runs.records import RunFilter, filtered, with_job
from ticketbridge.storage.models import Run, UTCDateTime

PAGE_SIZE = 50

RANK: ColumnElement[int] = case(
    {status.value: rank for rank, status in enumerate(QUEUE_ORDER)},
    value=Run.status,
    else_=len(QUEUE_ORDER),
)


def at(value: datetime) -> ColumnElement[Any]:
    """A time as a bound value of the column's type (SQLite compares stored text)."""
    return literal(value, UTCDateTime())


def run_key(run: Run, sort: Sort) -> SortKey:
    return SortKey(queue_rank(run.status) if sort.by_status else 0, run.started_at, run.id)


def run_keys(session: Session, sort: Sort, run_ids: Sequence[int]) -> list[SortKey]:
    """Where these runs stand in a list of runs in this order."""
    rows = session.execute(
        select(Run.status, Run.started_at, Run.id).where(Run.id.in_(run_ids))
    ).all()
    return [
        SortKey(queue_rank(status) if sort.by_status else 0, started_at, run_id)
        for status, started_at, run_id in rows
    ]


@dataclass(frozen=True)
class PageLinks:
    """Cursors of the neighbouring pages, None where there is none."""

    previous: str | None = None
    next: str | None = None
    first: bool = False  # a link to the first page is worth showing
    last: bool = False  # and one to the last


def links(
    kind: str, sort: Sort, first: SortKey, last: SortKey, has_prev: bool, has_next: bool
) -> PageLinks:
    return PageLinks(
        previous=encode_cursor(Cursor(kind, sort, Direction.BEFORE, first)) if has_prev else None,
        next=encode_cursor(Cursor(kind, sort, Direction.AFTER, last)) if has_next else None,
        first=has_prev,
        last=has_next,
    )


@dataclass(frozen=True)
class RunPage:
    runs: list[Run]
    links: PageLinks


def _statuses(filters: RunFilter) -> list[RunStatus]:
    return [s for s in QUEUE_ORDER if not filters.statuses or s in filters.statuses]


def _fetch_runs(
    session: Session,
    filters: RunFilter,
    sort: Sort,
    key: SortKey | None,
    *,
    forward: bool,
    limit: int,
    load: bool = True,
) -> list[Run]:
    """Up to `limit` runs next to `key` (from the start, or the end, without one), nearest
    first. Worst first reads one status at a time, each an index range."""
    ascending = sort.ascending == forward
    order = (Run.started_at, Run.id) if ascending else (Run.started_at.desc(), Run.id.desc())
    position = tuple_(Run.started_at, Run.id)
    if sort.by_status:
        buckets: list[RunStatus | None] = list(_statuses(filters))
        if not forward:
            buckets.reverse()
        if key is not None:
            buckets = [
                s
                for s in buckets
                if s is not None
                and (queue_rank(s) >= key.rank if forward else queue_rank(s) <= key.rank)
            ]
    else:
        buckets = [None]
    found: list[Run] = []
    for status in buckets:
        query = filtered(with_job(select(Run)) if load else select(Run), filters)
        if status is not None:
            query = query.where(Run.status == status.value)
        if key is not None and (status is None or queue_rank(status) == key.rank):
            bound = tuple_(at(key.at), literal(key.id))
            query = query.where(position > bound if ascending else position < bound)
        found.extend(session.scalars(query.order_by(*order).limit(limit - len(found))).unique())
        if len(found) >= limit:
            break
    return found


def run_page(
    session: Session,
    filters: RunFilter,
    sort: Sort,
    cursor: Cursor | None,
    *,
    last: bool = False,
    limit: int = PAGE_SIZE,
) -> RunPage:
    """A page of runs: the first, the last, or the one next to a cursor."""
    key = cursor.key if cursor else None
    backward = last or (cursor is not None and cursor.direction is Direction.BEFORE)
    rows = _fetch_runs(
        session, filters, sort, None if last else key, forward=not backward, limit=limit + 1
    )
    more = len(rows) > limit
    rows = rows[:limit]
    if backward:
        rows.reverse()
    if not rows:
        return RunPage([], PageLinks(first=cursor is not None or last))

    def beyond(run: Run, forward: bool) -> bool:
        found = _fetch_runs(
            session, filters, sort, run_key(run, sort), forward=forward, limit=1, load=False
        )
        return bool(found)

    has_prev = more if backward else (cursor is not None and beyond(rows[0], False))
    has_next = beyond(rows[-1], True) if backward else more
    first, last_key = run_key(rows[0], sort), run_key(rows[-1], sort)
    return RunPage(rows, links("runs", sort, first, last_key, has_prev, has_next))


def job_history(
    session: Session, job_id: int, cursor: Cursor | None, *, last: bool = False
) -> RunPage:
    """A job's runs, newest first, by cursor (ix_runs_job_started_id)."""
    return run_page(session, RunFilter(job_id=job_id), Sort.NEWEST, cursor, last=last)
