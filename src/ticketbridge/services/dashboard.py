"""The status matrix: customers by day, worst status per cell."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import case, select
from sqlalchemy.orm import Session

from ticketbridge.core.statuses import RunStatus, worst
from ticketbridge.storage.models import Customer, Job, Run

DAYS = 14


@dataclass(frozen=True)
class Cell:
    day: date
    since: datetime  # UTC bounds of the local day, for the link to its runs
    until: datetime
    status: RunStatus | None


@dataclass(frozen=True)
class MatrixRow:
    customer_id: int
    customer_name: str
    cells: list[Cell]


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


def status_matrix(session: Session, *, now: datetime, zone: str) -> list[MatrixRow]:
    today = now.astimezone(ZoneInfo(zone)).date()
    bounds = day_bounds(today, zone)
    # Bucket in SQL with explicit UTC bounds: exact across DST changes, the same on every database,
    # and it returns one row per (customer, day, status) rather than every run.
    day_index = case(
        *[(Run.started_at < end, index) for index, (_, _, end) in enumerate(bounds)], else_=None
    )
    rows = session.execute(
        select(Job.customer_id, day_index.label("day"), Run.status)
        .join(Run.job)
        .where(Run.started_at >= bounds[0][1], Run.started_at < bounds[-1][2])
        .group_by(Job.customer_id, "day", Run.status)
    ).all()
    statuses: dict[tuple[int, int], list[RunStatus]] = {}
    for customer_id, index, status in rows:
        statuses.setdefault((customer_id, index), []).append(RunStatus(status))
    customers = session.execute(
        select(Customer.id, Customer.name).where(Customer.active.is_(True)).order_by(Customer.name)
    ).all()
    return [
        MatrixRow(
            customer_id,
            name,
            [
                Cell(day, since, until, worst(statuses.get((customer_id, index), [])))
                for index, (day, since, until) in enumerate(bounds)
            ],
        )
        for customer_id, name in customers
    ]
