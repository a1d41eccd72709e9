"""Learning a job's schedule from its history, and the times it is expected."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from ticketbridge.core.schedule_inference import (
    Cadence,
    DeclaredSchedule,
    LearnedSchedule,
    expected_times,
    learn,
    valid_cron,
)

ZONE = "Europe/Amsterdam"


def _starts(first: date, days: list[int], hour: int = 22, minute: int = 5) -> list[datetime]:
    # 22:05 Amsterdam in June is 20:05 UTC.
    return [
        datetime(first.year, first.month, first.day, hour - 2, minute, tzinfo=UTC)
        + timedelta(days=offset)
        for offset in days
    ]


def test_fewer_than_four_runs_teach_nothing() -> None:
    assert learn(_starts(date(2026, 6, 1), [0, 1, 2]), ZONE) is None


def test_a_run_every_day_is_daily_at_its_local_time() -> None:
    learned = learn(_starts(date(2026, 6, 1), list(range(10))), ZONE)
    assert learned == LearnedSchedule(Cadence.DAILY, 22 * 60 + 5, ZONE)


def test_runs_on_working_days_only_are_weekdays() -> None:
    # 2026-06-01 is a Monday: two working weeks.
    learned = learn(_starts(date(2026, 6, 1), [0, 1, 2, 3, 4, 7, 8, 9, 10, 11]), ZONE)
    assert learned is not None and learned.cadence is Cadence.WEEKDAYS


def test_one_run_a_week_on_the_same_day_is_weekly() -> None:
    learned = learn(_starts(date(2026, 6, 6), [0, 7, 14, 21, 28]), ZONE)
    assert learned is not None and learned.cadence is Cadence.WEEKLY
    assert learned.weekday == 5  # Saturday


def test_one_run_a_month_on_the_same_day_is_monthly() -> None:
    starts = [datetime(2026, month, 3, 1, 0, tzinfo=UTC) for month in range(1, 7)]
    learned = learn(starts, ZONE)
    assert learned is not None and learned.cadence is Cadence.MONTHLY
    assert learned.day_of_month == 3


def test_scattered_runs_have_no_schedule() -> None:
    assert learn(_starts(date(2026, 6, 1), [0, 2, 3, 9, 11, 12, 20]), ZONE) is None


def test_several_runs_a_day_count_as_one_day() -> None:
    starts = _starts(date(2026, 6, 1), list(range(6))) + _starts(
        date(2026, 6, 1), list(range(6)), hour=23
    )
    learned = learn(starts, ZONE)
    assert learned is not None and learned.minute_of_day == 22 * 60 + 5


def test_learned_daily_expects_one_time_in_utc_on_each_day() -> None:
    schedule = LearnedSchedule(Cadence.DAILY, 22 * 60, ZONE)
    assert expected_times(schedule, date(2026, 1, 10)) == [datetime(2026, 1, 10, 21, tzinfo=UTC)]
    assert expected_times(schedule, date(2026, 7, 10)) == [datetime(2026, 7, 10, 20, tzinfo=UTC)]


def test_weekdays_expect_nothing_on_a_saturday() -> None:
    schedule = LearnedSchedule(Cadence.WEEKDAYS, 60, ZONE)
    assert expected_times(schedule, date(2026, 6, 6)) == []
    assert len(expected_times(schedule, date(2026, 6, 5))) == 1


def test_monthly_on_the_31st_falls_on_the_last_day_of_short_months() -> None:
    schedule = LearnedSchedule(Cadence.MONTHLY, 0, "UTC", day_of_month=31)
    assert expected_times(schedule, date(2026, 2, 28)) == [datetime(2026, 2, 28, tzinfo=UTC)]
    assert expected_times(schedule, date(2026, 3, 30)) == []


def test_a_declared_cron_expects_each_firing_of_the_local_day() -> None:
    schedule = DeclaredSchedule("0 6,18 * * *", "America/New_York", 60)
    assert expected_times(schedule, date(2026, 6, 1)) == [
        datetime(2026, 6, 1, 10, tzinfo=UTC),
        datetime(2026, 6, 1, 22, tzinfo=UTC),
    ]


def test_a_cron_firing_every_minute_is_capped() -> None:
    assert len(expected_times(DeclaredSchedule("* * * * *"), date(2026, 6, 1))) == 96


def test_cron_validation_takes_five_fields_only() -> None:
    assert valid_cron("0 22 * * 1-5")
    assert not valid_cron("0 22 * *")
    assert not valid_cron("61 22 * * *")
    assert not valid_cron("rm -rf /")


def test_schedules_survive_a_round_trip_through_json() -> None:
    learned = LearnedSchedule(Cadence.WEEKLY, 75, ZONE, weekday=2)
    assert LearnedSchedule.from_dict(learned.to_dict()) == learned
    declared = DeclaredSchedule("0 1 * * *", ZONE, 30)
    assert DeclaredSchedule.from_dict(declared.to_dict()) == declared
    assert learned.describe() == "weekly on Wednesday at 01:15 Europe/Amsterdam"
