"""When a job is expected to report: learned from its run history, or declared by an operator.

Pure functions. A schedule is learned from at least `MIN_RUNS` days with a run (one run a day
counts once, at its earliest time): daily, weekdays (Monday to Friday), weekly (one weekday) or
monthly (one day of the month). A pattern is taken only when at least `FIT` of the history fits
it; otherwise the job has no learned schedule and is never reported Missed. A declared schedule
(cron expression, time zone, grace) always wins over a learned one.
"""

from __future__ import annotations

import calendar
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from itertools import pairwise
from statistics import median
from typing import Any
from zoneinfo import ZoneInfo

from croniter import croniter

MIN_RUNS = 4
FIT = 0.8
HISTORY_DAYS = 60
DEFAULT_GRACE_MINUTES = 180
# A cron expression may fire every minute; a day's list is capped to stay readable and cheap.
MAX_PER_DAY = 96


class Cadence(StrEnum):
    DAILY = "daily"
    WEEKDAYS = "weekdays"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


@dataclass(frozen=True)
class LearnedSchedule:
    cadence: Cadence
    minute_of_day: int  # local time of day, in minutes after midnight
    timezone: str
    weekday: int | None = None  # weekly: 0 is Monday
    day_of_month: int | None = None  # monthly
    grace_minutes: int = DEFAULT_GRACE_MINUTES

    def to_dict(self) -> dict[str, Any]:
        return {
            "cadence": self.cadence.value,
            "minute_of_day": self.minute_of_day,
            "timezone": self.timezone,
            "weekday": self.weekday,
            "day_of_month": self.day_of_month,
            "grace_minutes": self.grace_minutes,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LearnedSchedule:
        return cls(
            cadence=Cadence(data["cadence"]),
            minute_of_day=int(data["minute_of_day"]),
            timezone=str(data["timezone"]),
            weekday=data.get("weekday"),
            day_of_month=data.get("day_of_month"),
            grace_minutes=int(data.get("grace_minutes", DEFAULT_GRACE_MINUTES)),
        )

    def describe(self) -> str:
        at = f"{self.minute_of_day // 60:02d}:{self.minute_of_day % 60:02d} {self.timezone}"
        if self.cadence is Cadence.WEEKLY and self.weekday is not None:
            return f"weekly on {calendar.day_name[self.weekday]} at {at}"
        if self.cadence is Cadence.MONTHLY:
            return f"monthly on day {self.day_of_month} at {at}"
        return f"{self.cadence.value} at {at}"


@dataclass(frozen=True)
class DeclaredSchedule:
    cron: str
    timezone: str = "UTC"
    grace_minutes: int = DEFAULT_GRACE_MINUTES

    def to_dict(self) -> dict[str, Any]:
        return {"cron": self.cron, "timezone": self.timezone, "grace_minutes": self.grace_minutes}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DeclaredSchedule:
        return cls(
            cron=str(data["cron"]),
            timezone=str(data.get("timezone") or "UTC"),
            grace_minutes=int(data.get("grace_minutes", DEFAULT_GRACE_MINUTES)),
        )

    def describe(self) -> str:
        return f"cron {self.cron} ({self.timezone}), grace {self.grace_minutes} min"


Schedule = LearnedSchedule | DeclaredSchedule


def valid_cron(expression: str) -> bool:
    return len(expression.split()) == 5 and bool(croniter.is_valid(expression))


def learn(starts: Sequence[datetime], zone: str) -> LearnedSchedule | None:
    """Learn a schedule from run start times (aware); None when no pattern fits well enough."""
    tz = ZoneInfo(zone)
    first_per_day: dict[date, datetime] = {}
    for start in sorted(moment.astimezone(tz) for moment in starts):
        first_per_day.setdefault(start.date(), start)
    days = sorted(first_per_day)[-HISTORY_DAYS:]
    if len(days) < MIN_RUNS:
        return None
    minute = int(median(first_per_day[d].hour * 60 + first_per_day[d].minute for d in days))
    gaps = [(later - earlier).days for earlier, later in pairwise(days)]
    typical_gap = median(gaps)
    if typical_gap >= 25:
        day_of_month, share = _most_common([d.day for d in days])
        if share >= FIT:
            return LearnedSchedule(Cadence.MONTHLY, minute, zone, day_of_month=day_of_month)
        return None
    if typical_gap >= 6:
        weekday, share = _most_common([d.weekday() for d in days])
        if share >= FIT:
            return LearnedSchedule(Cadence.WEEKLY, minute, zone, weekday=weekday)
        return None
    weekend_days = sum(1 for d in days if d.weekday() >= 5)
    daily_steps = sum(1 for gap in gaps if gap == 1)
    if weekend_days == 0:
        # Friday to Monday is one working-day step.
        steps = sum(1 for a, b in pairwise(days) if (b - a).days == 1 or _weekend_hop(a, b))
        if steps / len(gaps) >= FIT:
            return LearnedSchedule(Cadence.WEEKDAYS, minute, zone)
        return None
    if daily_steps / len(gaps) >= FIT:
        return LearnedSchedule(Cadence.DAILY, minute, zone)
    return None


def _weekend_hop(earlier: date, later: date) -> bool:
    return earlier.weekday() == 4 and (later - earlier).days == 3


def _most_common(values: list[int]) -> tuple[int, float]:
    value, count = Counter(values).most_common(1)[0]
    return value, count / len(values)


def expected_times(schedule: Schedule, day: date) -> list[datetime]:
    """Expected report times (aware UTC) on this local day of the schedule's zone."""
    tz = ZoneInfo(schedule.timezone)
    if isinstance(schedule, DeclaredSchedule):
        start = datetime.combine(day, time.min, tz)
        end = datetime.combine(day + timedelta(days=1), time.min, tz)
        found: list[datetime] = []
        cursor = croniter(schedule.cron, start - timedelta(seconds=1))
        while len(found) < MAX_PER_DAY:
            moment: datetime = cursor.get_next(datetime)
            if moment >= end:
                break
            found.append(moment.astimezone(UTC))
        return found
    if not _runs_on(schedule, day):
        return []
    at = time(schedule.minute_of_day // 60, schedule.minute_of_day % 60)
    return [datetime.combine(day, at, tz).astimezone(UTC)]


def _runs_on(schedule: LearnedSchedule, day: date) -> bool:
    if schedule.cadence is Cadence.DAILY:
        return True
    if schedule.cadence is Cadence.WEEKDAYS:
        return day.weekday() < 5
    if schedule.cadence is Cadence.WEEKLY:
        return day.weekday() == schedule.weekday
    # Monthly on the 31st: in shorter months, the last day.
    wanted = schedule.day_of_month or 1
    last = calendar.monthrange(day.year, day.month)[1]
    return day.day == min(wanted, last)


def grace_of(schedule: Schedule) -> timedelta:
    return timedelta(minutes=schedule.grace_minutes)
