"""The status matrix: customers (and, opened, their jobs) by day, worst status per cell.

A cell also counts its runs per status and the runs that carry a ticket, so the grid answers
"how bad, how many, and is someone on it" without a click.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from ticketbridge.core.statuses import WORST_FIRST, RunStatus, severity, worst
from ticketbridge.core.ticket_links import LinkState
from ticketbridge.storage.models import Customer, Job, Run, TicketLinkRow

DAYS = 14
# A run "has a ticket" while its current link names one that was not deleted or replaced.
TICKETED_STATES = (
    LinkState.CREATING.value,
    LinkState.ACTIVE.value,
    LinkState.LEFT_OPEN_TIME_ENTRIES.value,
    LinkState.RESOLVED.value,
)

# What each status means, worst first: the dashboard's legend.
MEANINGS = {
    RunStatus.FAILED: "the job failed: nothing usable was backed up",
    RunStatus.MISSED: "no report arrived within the expected window",
    RunStatus.ERROR: "the job finished, but some objects failed",
    RunStatus.WARNING: "the job finished with warnings",
    RunStatus.UNKNOWN: "a report that could not be classified",
    RunStatus.SUCCESS: "every object backed up",
}


@dataclass(frozen=True)
class LegendItem:
    status: RunStatus
    meaning: str


def legend() -> list[LegendItem]:
    """Every status, worst first, with what it means."""
    return [LegendItem(status, MEANINGS[status]) for status in WORST_FIRST]


@dataclass(frozen=True)
class Cell:
    day: date
    since: datetime  # UTC bounds of the local day, for the link to its runs
    until: datetime
    status: RunStatus | None
    counts: dict[RunStatus, int] = field(default_factory=dict)  # runs per status, worst first
    tickets: int = 0  # runs of the cell that carry a ticket

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def problems(self) -> int:
        """Runs that were anything but a success."""
        return sum(n for status, n in self.counts.items() if status is not RunStatus.SUCCESS)

    def describe(self) -> str:
        """The counts in words: ``2 failed, 1 warning, 3 success; 1 with a ticket``."""
        if not self.counts:
            return "no runs"
        text = ", ".join(f"{n} {status.value}" for status, n in self.counts.items())
        if self.tickets:
            text += f"; {self.tickets} with a ticket"
        return text


@dataclass(frozen=True)
class JobRow:
    job_id: int
    job_name: str
    backup_product: str
    cells: list[Cell]

    @property
    def has_problems(self) -> bool:
        return any(cell.problems for cell in self.cells)


@dataclass(frozen=True)
class MatrixRow:
    customer_id: int
    customer_name: str
    cells: list[Cell]
    jobs: list[JobRow] | None = None  # None: the row is closed

    @property
    def has_problems(self) -> bool:
        return any(cell.problems for cell in self.cells)


def day_bounds(today: date, zone: str, days: int = DAYS) -> list[tuple[date, datetime, datetime]]:
    """The last `days` local days ending today, each as (day, start UTC, end UTC)."""
    tz = ZoneInfo(zone)
    result = []
    for offset in range(days - 1, -1, -1):
        day = today - timedelta(days=offset)
        start = datetime.combine(day, time.min, tz)
        end = datetime.combine(day + timedelta(days=1), time.min, tz)
        result.append((day, start.astimezone(ZoneInfo("UTC")), end.astimezone(ZoneInfo("UTC"))))
    return result


Bounds = list[tuple[date, datetime, datetime]]
# (key, day index) -> (runs per status, runs with a ticket)
Buckets = dict[tuple[int, int], tuple[dict[RunStatus, int], int]]


def _buckets(session: Session, bounds: Bounds, key: Any, *where: Any) -> Buckets:
    """Runs of the window counted per (key, day, status), with how many carry a ticket.

    Bucketed in SQL with explicit UTC bounds: exact across DST changes, the same on every
    database, and one row per (key, day, status) rather than every run."""
    day_index = case(
        *[(Run.started_at < end, index) for index, (_, _, end) in enumerate(bounds)], else_=None
    )
    ticketed = and_(
        TicketLinkRow.current_run_id == Run.id, TicketLinkRow.state.in_(TICKETED_STATES)
    )
    rows = session.execute(
        select(
            key,
            day_index.label("day"),
            Run.status,
            func.count(Run.id),
            func.count(TicketLinkRow.id),
        )
        .select_from(Run)
        .join(Run.job)
        .outerjoin(TicketLinkRow, ticketed)
        .where(Run.started_at >= bounds[0][1], Run.started_at < bounds[-1][2], *where)
        .group_by(key, "day", Run.status)
    ).all()
    found: Buckets = {}
    for owner, index, status, runs, tickets in rows:
        counts, ticket_runs = found.get((owner, index), ({}, 0))
        counts[RunStatus(status)] = counts.get(RunStatus(status), 0) + int(runs)
        found[(owner, index)] = (counts, ticket_runs + int(tickets))
    return found


def _cells(buckets: Buckets, owner: int, bounds: Bounds) -> list[Cell]:
    cells = []
    for index, (day, since, until) in enumerate(bounds):
        counts, tickets = buckets.get((owner, index), ({}, 0))
        ordered = dict(sorted(counts.items(), key=lambda item: severity(item[0]), reverse=True))
        cells.append(Cell(day, since, until, worst(ordered), ordered, tickets))
    return cells


def status_matrix(
    session: Session,
    *,
    now: datetime,
    zone: str,
    expand: Collection[int] = (),
    problems_only: bool = False,
) -> list[MatrixRow]:
    """One row per active customer; the customers in ``expand`` carry their jobs' rows.
    ``problems_only`` keeps the customers (and jobs) with anything but success in the window."""
    today = now.astimezone(ZoneInfo(zone)).date()
    bounds = day_bounds(today, zone)
    by_customer = _buckets(session, bounds, Job.customer_id)
    customers = session.execute(
        select(Customer.id, Customer.name).where(Customer.active.is_(True)).order_by(Customer.name)
    ).all()
    rows = [MatrixRow(cid, name, _cells(by_customer, cid, bounds)) for cid, name in customers]
    if problems_only:
        rows = [row for row in rows if row.has_problems]
    opened = {row.customer_id for row in rows} & set(expand)
    if not opened:
        return rows
    jobs = _job_rows(session, bounds, opened, problems_only)
    return [
        MatrixRow(row.customer_id, row.customer_name, row.cells, jobs.get(row.customer_id, []))
        if row.customer_id in opened
        else row
        for row in rows
    ]


def _job_rows(
    session: Session, bounds: Bounds, customer_ids: Iterable[int], problems_only: bool
) -> dict[int, list[JobRow]]:
    wanted = list(customer_ids)
    by_job = _buckets(session, bounds, Run.job_id, Job.customer_id.in_(wanted))
    jobs = session.execute(
        select(Job.id, Job.customer_id, Job.job_name, Job.backup_product)
        .where(Job.customer_id.in_(wanted))
        .order_by(Job.job_name, Job.id)
    ).all()
    result: dict[int, list[JobRow]] = {}
    for job_id, customer_id, name, product in jobs:
        row = JobRow(job_id, name, product, _cells(by_job, job_id, bounds))
        if problems_only and not row.has_problems:
            continue
        result.setdefault(customer_id, []).append(row)
    return result
