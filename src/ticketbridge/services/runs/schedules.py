"""Job schedules: the declared one wins, else the one learned from history; and Missed runs.

`detect_missed` is the periodic job: for every expected report time whose grace window has
passed without a run of that job near it, it stores a run with status "missed" at the expected
time. Its external id "missed:<job>:<expected time>" makes it idempotent.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, sessionmaker

from ticketbridge.core.schedule_inference import (
    DEFAULT_GRACE_MINUTES,
    DeclaredSchedule,
    LearnedSchedule,
    Schedule,
    expected_times,
    grace_of,
    learn,
    valid_cron,
)
from ticketbridge.core.statuses import RunSource, RunStatus
from ticketbridge.core.timezones import is_valid_zone
from ticketbridge.services.runs import catalog
from ticketbridge.services.runs import ingest as run_ingest
from ticketbridge.services.runs.input import RecordedRun
from ticketbridge.services.system import audit
from ticketbridge.services.system import settings as system_settings
from ticketbridge.storage.db import session_scope
from ticketbridge.storage.models import Job, JobScheduleState, Run

# Learning looks at this much history (enough for a monthly job to show four runs).
LEARN_WINDOW = timedelta(days=4 * 31 + 7)
MISSED_LOOKBACK_DAYS = 2


class ScheduleError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class JobSchedule:
    job: Job
    opt_out: bool
    declared: DeclaredSchedule | None
    learned: LearnedSchedule | None

    @property
    def effective(self) -> Schedule | None:
        if self.opt_out:
            return None
        return self.declared or self.learned


def _history(
    session: Session, now: datetime, job_id: int | None = None
) -> dict[int, list[datetime]]:
    query = select(Run.job_id, Run.started_at).where(
        Run.started_at >= now - LEARN_WINDOW,
        Run.started_at <= now,
        Run.status != RunStatus.MISSED.value,
    )
    if job_id is not None:
        query = query.where(Run.job_id == job_id)
    starts: dict[int, list[datetime]] = defaultdict(list)
    for found_job, started in session.execute(query):
        starts[found_job].append(started)
    return starts


def schedules(
    session: Session, *, now: datetime, zone: str, job_id: int | None = None
) -> list[JobSchedule]:
    """Every job (or one) with its declared and freshly learned schedule."""
    query = select(Job).options(joinedload(Job.customer))
    if job_id is not None:
        query = query.where(Job.id == job_id)
    jobs = list(session.scalars(query.order_by(Job.id)))
    states = {
        state.job_id: state
        for state in session.scalars(
            select(JobScheduleState).where(JobScheduleState.job_id.in_([j.id for j in jobs]))
        )
    }
    history = _history(session, now, job_id)
    result = []
    for job in jobs:
        state = states.get(job.id)
        declared = DeclaredSchedule.from_dict(job.schedule) if job.schedule else None
        learned = learn(history.get(job.id, []), zone)
        result.append(JobSchedule(job, bool(state and state.opt_out), declared, learned))
    return result


def _state(session: Session, job_id: int) -> JobScheduleState:
    state = session.get(JobScheduleState, job_id)
    if state is None:
        state = JobScheduleState(job_id=job_id, opt_out=False)
        session.add(state)
    return state


def declare(
    session: Session,
    job_id: int,
    *,
    cron: str,
    timezone: str,
    grace_minutes: int = DEFAULT_GRACE_MINUTES,
    actor: str,
) -> Job:
    """Declare (or, with an empty cron expression, clear) a job's schedule."""
    job = catalog.get_job(session, job_id)
    cron = " ".join(cron.split())
    if not cron:
        job.schedule = None
        audit.record(session, actor=actor, action="job.schedule.clear", subject=f"job {job.id}")
        return job
    if not valid_cron(cron):
        raise ScheduleError("cron", f"{cron!r} is not a five-field cron expression")
    if not is_valid_zone(timezone):
        raise ScheduleError("timezone", f"unknown timezone {timezone!r}")
    if not 0 <= grace_minutes <= 7 * 24 * 60:
        raise ScheduleError("grace_minutes", "grace must be between 0 minutes and 7 days")
    job.schedule = DeclaredSchedule(cron, timezone, grace_minutes).to_dict()
    audit.record(
        session,
        actor=actor,
        action="job.schedule.declare",
        subject=f"job {job.id}",
        details=job.schedule,
    )
    return job


def set_opt_out(session: Session, job_id: int, opt_out: bool, *, actor: str) -> None:
    catalog.get_job(session, job_id)
    state = _state(session, job_id)
    if state.opt_out != opt_out:
        state.opt_out = opt_out
        audit.record(
            session,
            actor=actor,
            action="job.schedule.opt_out" if opt_out else "job.schedule.opt_in",
            subject=f"job {job_id}",
        )


@dataclass(frozen=True)
class Expected:
    job: Job
    expected_at: datetime
    schedule: Schedule
    run: Run | None  # the run that answered, a missed run, or None (not due yet / not created)

    @property
    def grace(self) -> timedelta:
        return grace_of(self.schedule)

    @property
    def result(self) -> str:
        return self.run.status if self.run is not None else "pending"


def _near(runs: list[Run], expected: datetime, grace: timedelta) -> Run | None:
    # A report slightly early still answers the expectation; the window is symmetric.
    close = [r for r in runs if abs(r.started_at - expected) <= grace]
    return min(close, key=lambda r: abs(r.started_at - expected)) if close else None


def expected_for_day(session: Session, day: date, *, now: datetime, zone: str) -> list[Expected]:
    """Every job expected on this local day, with its run (or Missed, or pending)."""
    rows: list[Expected] = []
    tz = ZoneInfo(zone)
    start = datetime.combine(day, time.min, tz) - timedelta(days=2)
    end = datetime.combine(day + timedelta(days=1), time.min, tz) + timedelta(days=2)
    runs_by_job: dict[int, list[Run]] = defaultdict(list)
    for run in session.scalars(select(Run).where(Run.started_at >= start, Run.started_at < end)):
        runs_by_job[run.job_id].append(run)
    for item in schedules(session, now=now, zone=zone):
        schedule = item.effective
        if schedule is None:
            continue
        for expected in _times_on_local_day(schedule, day, tz):
            answer = _near(runs_by_job[item.job.id], expected, grace_of(schedule))
            rows.append(Expected(item.job, expected, schedule, answer))
    rows.sort(key=lambda e: (e.job.customer.name, e.job.job_name, e.expected_at))
    return rows


def _times_on_local_day(schedule: Schedule, day: date, tz: ZoneInfo) -> list[datetime]:
    """The schedule's zone may differ from the page's: look one day either side."""
    found = []
    for offset in (-1, 0, 1):
        for moment in expected_times(schedule, day + timedelta(days=offset)):
            if moment.astimezone(tz).date() == day:
                found.append(moment)
    return found


def detect_missed(session: Session, *, now: datetime, zone: str) -> list[int]:
    """Store a missed run for every expectation past its grace with no run near it."""
    tz = ZoneInfo(zone)
    today = now.astimezone(tz).date()
    created: list[int] = []
    for item in schedules(session, now=now, zone=zone):
        schedule = item.effective
        if schedule is None:
            continue
        state = _state(session, item.job.id)
        state.learned = item.learned.to_dict() if item.learned else None
        state.learned_at = now
        grace = grace_of(schedule)
        for offset in range(MISSED_LOOKBACK_DAYS, -1, -1):
            day = today - timedelta(days=offset)
            for expected in expected_times(schedule, day):
                if expected + grace > now:
                    continue
                created.extend(_missed(session, item.job, expected, grace))
    return created


def _missed(session: Session, job: Job, expected: datetime, grace: timedelta) -> list[int]:
    near = session.scalar(
        select(Run.id).where(
            Run.job_id == job.id,
            Run.started_at >= expected - grace,
            Run.started_at <= expected + grace,
        )
    )
    if near is not None:
        return []
    item = RecordedRun(
        customer=job.customer.name,
        job_name=job.job_name,
        backup_product=job.backup_product,
        job_type=job.job_type,
        host=job.host,
        status=RunStatus.MISSED,
        started_at=expected,
        overall_remark="No backup report was received within the grace window.",
        external_id=f"missed:{job.id}:{expected.isoformat()}",
    )
    [result] = run_ingest.store(session, [item], source=RunSource.SCHEDULE)
    return [result.run_id] if result.created else []


def detect_missed_in(factory: sessionmaker[Session], *, now: datetime) -> list[int]:
    """`detect_missed` in a transaction of its own, in the installation's UI time zone."""
    with session_scope(factory) as session:
        return detect_missed(session, now=now, zone=system_settings.ui_timezone(session))
