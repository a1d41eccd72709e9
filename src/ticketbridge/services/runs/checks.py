"""The review queue (Run Checks): one row per job with runs waiting for review, worst first.

A job row carries its waiting runs as counts per status (worst first), its first runs and the
latest remark. The queue is read whole as one aggregate per job over the queue's own partial
index (ix_runs_queue_job_status_started_id): its cost follows the runs waiting for review,
never the runs stored, and the page is then cut from it by a cursor on the sort key. The same
pass gives the counts the page shows. Plain lists of runs are services/run_pages.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session, contains_eager

from ticketbridge.core.run_order import QUEUE_ORDER, Cursor, Direction, Sort, SortKey
from ticketbridge.core.statuses import RunStatus
from ticketbridge.services.runs.pages import PAGE_SIZE, RANK, PageLinks, links
from ticketbridge.services.runs.records import RunFilter, filtered
from ticketbridge.storage.models import Job, Run

RUNS_PER_JOB = 5  # a job row expands to this many of its runs; the rest are one link away
COUNT_CAP = 10_000  # lists beyond the queue are counted this far ("10,000+ runs")


@dataclass
class JobRow:
    job_id: int
    counts: list[tuple[RunStatus, int]]  # worst first, statuses present only
    total: int
    oldest: datetime
    newest: datetime
    key: SortKey
    job: Job = field(init=False)
    runs: list[Run] = field(default_factory=list)  # the first RUNS_PER_JOB in queue order
    latest_remark: str = ""

    @property
    def worst(self) -> RunStatus:
        return self.counts[0][0]

    @property
    def successes(self) -> int:
        return dict(self.counts).get(RunStatus.SUCCESS, 0)


@dataclass(frozen=True)
class Totals:
    runs: int | None  # runs matching the filters: at most COUNT_CAP outside the queue, and
    # not counted for a text search there (that would read every run stored)
    more: bool  # there are more than `runs`
    jobs: int  # jobs they belong to (the queue only)
    reviewable: int  # of those, waiting for review
    successes: int  # of those, Success
    upto: int  # the newest run id when counted: actions from the page reach no further


@dataclass(frozen=True)
class JobPage:
    rows: list[JobRow]
    links: PageLinks
    totals: Totals


def _newest_id(session: Session) -> int:
    return session.scalar(select(func.max(Run.id))) or 0


def queue_jobs(
    session: Session, filters: RunFilter, sort: Sort, job_ids: Sequence[int] = ()
) -> list[JobRow]:
    """Every job with runs `filters` match, in queue order (no runs or remarks loaded)."""
    counts = [
        func.sum(case((Run.status == status.value, 1), else_=0)).label(status.value)
        for status in QUEUE_ORDER
    ]
    query = filtered(
        select(
            Run.job_id,
            func.min(RANK).label("worst"),
            func.min(Run.started_at).label("oldest"),
            func.max(Run.started_at).label("newest"),
            func.count().label("total"),
            *counts,
        ),
        filters,
    ).group_by(Run.job_id)
    if job_ids:
        query = query.where(Run.job_id.in_(job_ids))
    rows = []
    for row in session.execute(query):
        if sort is Sort.WORST:
            key = SortKey(row.worst, row.oldest, row.job_id)
        else:
            key = SortKey(0, row.newest if sort is Sort.NEWEST else row.oldest, row.job_id)
        present = [(s, getattr(row, s.value)) for s in QUEUE_ORDER if getattr(row, s.value)]
        rows.append(JobRow(row.job_id, present, row.total, row.oldest, row.newest, key))
    rows.sort(key=lambda r: r.key, reverse=sort is Sort.NEWEST)
    return rows


def job_keys(
    session: Session, filters: RunFilter, sort: Sort, job_ids: Sequence[int]
) -> list[SortKey]:
    """Where these jobs stand in the queue now (those with runs matching `filters`)."""
    return [row.key for row in queue_jobs(session, filters, sort, job_ids)] if job_ids else []


def _window(
    rows: list[JobRow], sort: Sort, cursor: Cursor | None, last: bool, limit: int
) -> tuple[int, int]:
    """[start, end) of the page in the whole queue."""
    if last:
        return max(0, len(rows) - limit), len(rows)
    if cursor is None:
        return 0, min(limit, len(rows))

    def beyond(key: SortKey) -> bool:  # whether `key` comes after the cursor's row
        return key < cursor.key if sort is Sort.NEWEST else key > cursor.key

    split = next((i for i, row in enumerate(rows) if beyond(row.key)), len(rows))
    if cursor.direction is Direction.AFTER:
        return split, min(len(rows), split + limit)
    end = next((i for i, row in enumerate(rows) if row.key == cursor.key), split)
    return max(0, end - limit), end


def job_page(
    session: Session,
    filters: RunFilter,
    sort: Sort,
    cursor: Cursor | None,
    *,
    last: bool = False,
    limit: int = PAGE_SIZE,
    runs_per_job: int = RUNS_PER_JOB,
) -> JobPage:
    """A page of the queue, one row per job with runs matching `filters`, and its counts."""
    filters = replace(filters, upto=_newest_id(session))
    every = queue_jobs(session, filters, sort)
    start, end = _window(every, sort, cursor, last, limit)
    rows = every[start:end]
    totals = Totals(
        runs=sum(row.total for row in every),
        more=False,
        jobs=len(every),
        reviewable=sum(row.total for row in every) if filters.reviewed is False else 0,
        successes=sum(row.successes for row in every) if filters.reviewed is False else 0,
        upto=filters.upto or 0,
    )
    if not rows:
        return JobPage([], PageLinks(first=bool(every)), totals)
    jobs = {
        job.id: job
        for job in session.scalars(
            select(Job)
            .join(Job.customer)
            .options(contains_eager(Job.customer))
            .where(Job.id.in_([row.job_id for row in rows]))
        )
    }
    for row in rows:
        row.job = jobs[row.job_id]
    _fill(session, filters, sort, rows, runs_per_job)
    page_links = links("jobs", sort, rows[0].key, rows[-1].key, start > 0, end < len(every))
    return JobPage(rows, page_links, totals)


def _fill(
    session: Session, filters: RunFilter, sort: Sort, rows: list[JobRow], runs_per_job: int
) -> None:
    """Each row's first runs (in the page's order) and its latest remark: one pass over the
    page's jobs' runs with the filters (a text search is read once), then the runs shown."""
    job_ids = [row.job_id for row in rows]
    time_order = Run.started_at.desc() if sort is Sort.NEWEST else Run.started_at
    id_order = Run.id.desc() if sort is Sort.NEWEST else Run.id
    order = (RANK, time_order, id_order) if sort.by_status else (time_order, id_order)
    has_remark = Run.overall_remark != ""
    place = func.row_number().over(partition_by=Run.job_id, order_by=order)
    latest = func.row_number().over(
        partition_by=(Run.job_id, has_remark), order_by=(Run.started_at.desc(), Run.id.desc())
    )
    ranked = (
        filtered(
            select(Run.id, Run.job_id, Run.overall_remark, place.label("place"),
                   latest.label("latest"), has_remark.label("has_remark")),
            filters,
        )
        .where(Run.job_id.in_(job_ids))
        .subquery()
    )  # fmt: skip
    newest_remark = and_(ranked.c.latest == 1, ranked.c.has_remark)
    picked = session.execute(
        select(ranked.c.id, ranked.c.job_id, ranked.c.place, newest_remark, ranked.c.overall_remark)
        .where(or_(ranked.c.place <= runs_per_job, newest_remark))
    ).all()  # fmt: skip
    remark_of: dict[int, str] = {}
    places: dict[int, int] = {}
    for run_id, job_id, at, is_newest_remark, remark in picked:
        if at <= runs_per_job:
            places[run_id] = at
        if is_newest_remark:
            remark_of[job_id] = remark
    shown = session.scalars(select(Run).where(Run.id.in_(places)))  # rows hold job and customer
    by_job: dict[int, list[Run]] = {}
    for run in sorted(shown, key=lambda run: places[run.id]):
        by_job.setdefault(run.job_id, []).append(run)
    for row in rows:
        row.runs = by_job.get(row.job_id, [])
        row.latest_remark = remark_of.get(row.job_id, "")


# --- counts of plain lists ------------------------------------------------------------------


def _queue_counts(session: Session, filters: RunFilter) -> tuple[int, int, int]:
    """(runs, jobs, successes) among the runs waiting for review that `filters` match, in one
    pass over the queue's own index."""
    success = func.sum(case((Run.status == RunStatus.SUCCESS.value, 1), else_=0))
    runs, jobs, successes = session.execute(
        filtered(
            select(func.count(), func.count(func.distinct(Run.job_id)), success).select_from(Run),
            replace(filters, reviewed=False),
        )
    ).one()
    return runs, jobs, successes or 0


def totals(session: Session, filters: RunFilter) -> Totals:
    """The counts a list of runs shows. The runs waiting for review are counted exactly, from
    the queue's indexes; lists that may hold every run ever stored, up to COUNT_CAP."""
    upto = _newest_id(session)
    filters = replace(filters, upto=upto)
    waiting, jobs, successes = (
        (0, 0, 0) if filters.reviewed is True else _queue_counts(session, filters)
    )
    if filters.reviewed is False:
        return Totals(waiting, False, jobs, waiting, successes, upto)
    if filters.search:
        return Totals(None, False, 0, waiting, successes, upto)
    bounded = filtered(select(Run.id), filters).limit(COUNT_CAP + 1).subquery()
    runs = session.scalar(select(func.count()).select_from(bounded)) or 0
    return Totals(min(runs, COUNT_CAP), runs > COUNT_CAP, 0, waiting, successes, upto)
