"""Missed runs and the Daily Jobs rows, with an injected clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import add_runs
from ticketbridge.core.statuses import RunStatus
from ticketbridge.services.runs import schedules
from ticketbridge.services.runs.schedules import ScheduleError
from ticketbridge.storage.models import Job, Run

# Daily at 01:00 UTC for ten days, the last on 2026-06-10.
LAST = datetime(2026, 6, 10, 1, 0, tzinfo=UTC)


@pytest.fixture
def job_id(db: sessionmaker[Session]) -> int:
    add_runs(db, 10, started_at=LAST, step=timedelta(days=-1), status=RunStatus.SUCCESS)
    with db() as session:
        return session.scalars(select(Job.id)).one()


def _missed(session: Session) -> list[Run]:
    return list(session.scalars(select(Run).where(Run.status == "missed").order_by(Run.id)))


def test_no_report_within_grace_makes_one_missed_run(session: Session, job_id: int) -> None:
    expected = LAST + timedelta(days=1)
    assert schedules.detect_missed(session, now=expected + timedelta(hours=2), zone="UTC") == []
    created = schedules.detect_missed(session, now=expected + timedelta(hours=3), zone="UTC")
    assert len(created) == 1
    [missed] = _missed(session)
    assert missed.started_at == expected and missed.source == "schedule"
    assert missed.external_id == f"missed:{job_id}:{expected.isoformat()}"


def test_detecting_twice_adds_nothing(session: Session, job_id: int) -> None:
    now = LAST + timedelta(days=2, hours=6)
    first = schedules.detect_missed(session, now=now, zone="UTC")
    assert len(first) == 2
    assert schedules.detect_missed(session, now=now, zone="UTC") == []
    assert len(_missed(session)) == 2


def test_a_late_report_within_grace_answers_the_expectation(
    db: sessionmaker[Session], job_id: int
) -> None:
    add_runs(db, 1, started_at=LAST + timedelta(days=1, hours=2), status=RunStatus.SUCCESS)
    with db() as session:
        assert (
            schedules.detect_missed(session, now=LAST + timedelta(days=1, hours=6), zone="UTC")
            == []
        )


def test_an_opted_out_job_is_never_missed(session: Session, job_id: int) -> None:
    schedules.set_opt_out(session, job_id, True, actor="t")
    assert schedules.detect_missed(session, now=LAST + timedelta(days=2), zone="UTC") == []


def test_a_declared_schedule_wins_over_the_learned_one(session: Session, job_id: int) -> None:
    schedules.declare(
        session, job_id, cron="0 12 * * *", timezone="UTC", grace_minutes=60, actor="t"
    )
    schedules.detect_missed(session, now=LAST + timedelta(hours=12), zone="UTC")
    # The learned 01:00 runs all arrived; only the declared noon reports are missing.
    assert [r.started_at for r in _missed(session)] == [
        datetime(2026, 6, day, 12, tzinfo=UTC) for day in (8, 9, 10)
    ]


def test_a_job_with_too_little_history_is_never_missed(db: sessionmaker[Session]) -> None:
    add_runs(db, 3, started_at=LAST, step=timedelta(days=-1))
    with db() as session:
        assert schedules.detect_missed(session, now=LAST + timedelta(days=3), zone="UTC") == []


def test_declaring_refuses_a_bad_cron_or_zone(session: Session, job_id: int) -> None:
    with pytest.raises(ScheduleError):
        schedules.declare(session, job_id, cron="every day", timezone="UTC", actor="t")
    with pytest.raises(ScheduleError):
        schedules.declare(session, job_id, cron="0 1 * * *", timezone="Mars/Base", actor="t")


def test_daily_rows_show_the_run_or_missed(session: Session, job_id: int) -> None:
    schedules.detect_missed(session, now=LAST + timedelta(days=1, hours=6), zone="UTC")
    now = LAST + timedelta(days=1, hours=6)
    [ran] = schedules.expected_for_day(session, date(2026, 6, 10), now=now, zone="UTC")
    assert ran.result == "success" and ran.expected_at == LAST
    [missed] = schedules.expected_for_day(session, date(2026, 6, 11), now=now, zone="UTC")
    assert missed.result == "missed"
    [pending] = schedules.expected_for_day(session, date(2026, 6, 12), now=now, zone="UTC")
    assert pending.result == "pending"
