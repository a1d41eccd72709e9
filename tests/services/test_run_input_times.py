"""A run's times at the edges of what ingest accepts, with offsets that carry a time across.

The range rule and the one-day-ahead rule judge most times by their wall clock alone (an offset
moves a time by less than a day); these are the times where the offset decides.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from pydantic import ValidationError

from tests.factories import NOW, run_payload
from ticketbridge.services.runs.ingest import too_far_ahead
from ticketbridge.services.runs.input import RunIn

RANGE_MESSAGE = "must lie from 2000-01-01 to before 2100-01-01 (UTC)"


def _run(started_at: str) -> RunIn:
    return RunIn.model_validate_json(json.dumps(run_payload(started_at=started_at, ended_at=None)))


@pytest.mark.parametrize(
    "started_at",
    [
        "2000-01-01T00:00:00Z",
        "1999-12-31T23:30:00-01:00",  # 2000-01-01 00:30 UTC
        "2000-06-01T00:00:00+00:00",
        "2001-01-01T00:30:00+23:00",
        "2098-12-31T23:30:00-23:00",
        "2099-12-31T22:30:00-01:00",  # 23:30 UTC
        "2099-06-01T00:00:00Z",
        "2100-01-01T05:00:00+06:00",  # 2099-12-31 23:00 UTC, though its wall clock reads 2100
    ],
)
def test_times_inside_the_range_are_read(started_at: str) -> None:
    assert _run(started_at).started_at == datetime.fromisoformat(started_at)


@pytest.mark.parametrize(
    "started_at",
    [
        "1999-12-31T23:59:59Z",
        "2000-01-01T00:30:00+01:00",  # 1999-12-31 23:30 UTC
        "2099-12-31T23:30:00-01:00",  # 2100-01-01 00:30 UTC
        "2100-01-01T00:00:00Z",
        "1850-01-01T00:00:00Z",
    ],
)
def test_times_outside_the_range_are_refused_with_the_range(started_at: str) -> None:
    with pytest.raises(ValidationError) as refused:
        _run(started_at)
    [error] = refused.value.errors()
    assert error["loc"] == ("started_at",)
    assert RANGE_MESSAGE in error["msg"]


def test_a_day_ahead_is_judged_in_utc_whatever_the_offset() -> None:
    latest = NOW + timedelta(days=1)  # 2026-11-21 12:00 UTC
    runs = [
        _run("2026-11-21T09:00:00-05:00"),  # wall clock before latest, 14:00 UTC: refused
        _run("2026-11-21T15:00:00+05:00"),  # wall clock after latest, 10:00 UTC: accepted
        _run(latest.isoformat()),  # exactly a day ahead: accepted
        _run("2026-11-21T12:01:00Z"),  # a minute past: refused
        _run("2026-11-20T12:30:00-23:30"),  # wall clock a day before, 2026-11-21 12:00 UTC
        _run("2026-11-20T12:30:00-23:31"),  # one more minute of offset: refused
    ]
    problems = too_far_ahead(runs, NOW)
    assert [(p.index, p.field) for p in problems] == [
        (0, "started_at"),
        (3, "started_at"),
        (5, "started_at"),
    ]
    assert all("more than a day in the future" in p.message for p in problems)
