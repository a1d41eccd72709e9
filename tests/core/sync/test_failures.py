"""Per-item failures, retried with capped backoff (issue 14, item 6)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ticketbridge.core.sync.failures import (
    BackoffPolicy,
    ItemFailure,
    due,
    record_failure,
    retries_not_in,
)
from ticketbridge.core.sync.sides import EntityKind, Side

NOW = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
POLICY = BackoffPolicy(first_wait=timedelta(minutes=5), max_wait=timedelta(hours=1))


def fail(
    previous: ItemFailure | None = None,
    *,
    at: datetime = NOW,
    item_id: str = "t1",
    error: str = "RemoteRejected: Queue is required",
) -> ItemFailure:
    return record_failure(
        previous,
        kind=EntityKind.TICKET,
        side=Side.A,
        item_id=item_id,
        error=error,
        now=at,
        policy=POLICY,
    )


def test_a_first_failure_is_recorded_with_its_error_and_a_retry_time() -> None:
    failure = fail()
    assert failure.attempts == 1
    assert failure.error == "RemoteRejected: Queue is required"
    assert failure.next_retry_at == NOW + timedelta(minutes=5)
    assert failure.first_failed_at == failure.last_failed_at == NOW


def test_each_failure_in_a_row_waits_twice_as_long_up_to_the_cap() -> None:
    failure = fail()
    waits = []
    for _ in range(6):
        failure = fail(failure, at=failure.next_retry_at)
        waits.append(failure.next_retry_at - failure.last_failed_at)
    assert waits[:3] == [timedelta(minutes=10), timedelta(minutes=20), timedelta(minutes=40)]
    assert waits[3:] == [timedelta(hours=1)] * 3
    assert failure.attempts == 7
    assert failure.first_failed_at == NOW


def test_a_very_long_streak_stays_at_the_cap() -> None:
    assert POLICY.wait_after(10_000) == timedelta(hours=1)


def test_the_latest_error_is_kept() -> None:
    assert fail(fail(), error="RemoteNotFound").error == "RemoteNotFound"


def test_a_failure_is_not_retried_before_its_time() -> None:
    failure = fail()
    assert due([failure], NOW + timedelta(minutes=4)) == []
    assert due([failure], NOW + timedelta(minutes=5)) == [failure]


def test_due_failures_come_longest_waiting_first() -> None:
    older = fail(item_id="t1", at=NOW - timedelta(hours=1))
    newer = fail(item_id="t2", at=NOW - timedelta(minutes=30))
    later = fail(item_id="t3", at=NOW)
    assert due([later, newer, older], NOW + timedelta(minutes=1)) == [older, newer]


def test_a_retry_already_read_by_this_run_is_not_processed_twice() -> None:
    retries = [fail(item_id="t1"), fail(item_id="t2")]
    assert [failure.item_id for failure in retries_not_in(retries, ["t2", "t9"])] == ["t1"]


def test_a_previous_failure_of_another_item_is_refused() -> None:
    with pytest.raises(ValueError):
        fail(fail(item_id="t1"), item_id="t2")


def test_backoff_settings_are_checked() -> None:
    with pytest.raises(ValueError):
        BackoffPolicy(first_wait=timedelta(0))
    with pytest.raises(ValueError):
        BackoffPolicy(first_wait=timedelta(hours=2), max_wait=timedelta(hours=1))
    with pytest.raises(ValueError):
        POLICY.wait_after(0)
