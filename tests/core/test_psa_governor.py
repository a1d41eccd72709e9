"""The governor's rules: who takes a free slot, who may spend the budget, when to re-read it."""

from __future__ import annotations

import pytest

from ticketbridge.core.psa_governor import (
    MIN_RETRY_AFTER,
    READ_EVERY_REQUESTS,
    READ_EVERY_SECONDS,
    READ_WHEN_REFUSING_SECONDS,
    Budget,
    Priority,
    Waiter,
    may_send,
    next_to_go,
    paused,
    read_due,
    retry_after,
)

OPERATOR, ROUNDTRIP, BACKGROUND = Priority.OPERATOR, Priority.ROUNDTRIP, Priority.BACKGROUND


def used(count: int, limit: int = 10_000) -> Budget:
    return Budget(limit=limit, used_at_read=count, read_at=0.0, known=True)


def test_an_operator_request_queued_after_background_ones_takes_the_next_slot() -> None:
    waiting = [Waiter(BACKGROUND, 1), Waiter(BACKGROUND, 2), Waiter(OPERATOR, 3)]

    assert next_to_go(waiting, in_flight=2) == Waiter(OPERATOR, 3)


def test_within_a_priority_the_first_to_arrive_goes_first() -> None:
    waiting = [Waiter(ROUNDTRIP, 9), Waiter(BACKGROUND, 1), Waiter(ROUNDTRIP, 4)]

    assert next_to_go(waiting, in_flight=0) == Waiter(ROUNDTRIP, 4)


@pytest.mark.parametrize("in_flight", [3, 4])
def test_nobody_goes_while_three_requests_are_in_flight(in_flight: int) -> None:
    assert next_to_go([Waiter(OPERATOR, 1)], in_flight=in_flight) is None


def test_nothing_goes_when_nobody_waits() -> None:
    assert next_to_go([], in_flight=0) is None


@pytest.mark.parametrize(
    ("count", "allowed"),
    [
        (7_999, {OPERATOR, ROUNDTRIP, BACKGROUND}),
        (8_000, {OPERATOR, ROUNDTRIP}),
        (8_999, {OPERATOR, ROUNDTRIP}),
        (9_000, {OPERATOR}),
        (9_999, {OPERATOR}),
        (10_000, set()),
    ],
)
def test_background_stops_at_80_percent_roundtrip_at_90_and_operators_at_the_limit(
    count: int, allowed: set[Priority]
) -> None:
    budget = used(count)

    assert {p for p in Priority if may_send(budget, p)} == allowed
    assert set(paused(budget)) == set(Priority) - allowed


def test_our_own_requests_since_the_read_count_towards_the_budget() -> None:
    budget = used(7_990)
    for _ in range(10):
        budget = budget.counted()

    assert budget.used == 8_000
    assert not may_send(budget, BACKGROUND)


def test_a_read_replaces_the_estimate_and_restarts_our_count() -> None:
    budget = Budget(read_at=0.0).counted().counted()

    fresh = budget.read(limit=5_000, window_minutes=60, used=124, at=30.0)

    assert (fresh.used, fresh.limit, fresh.ours_since_read, fresh.read_at) == (124, 5_000, 0, 30.0)
    assert fresh.known and not budget.known


def test_a_failed_read_keeps_the_estimate_and_restarts_the_timers() -> None:
    budget = used(500)
    for _ in range(READ_EVERY_REQUESTS):
        budget = budget.counted()

    carried = budget.carried(at=40.0)

    assert carried.used == 500 + READ_EVERY_REQUESTS
    assert not read_due(carried, 40.0)


def test_the_budget_is_read_again_after_100_of_our_requests_or_5_minutes() -> None:
    budget = used(0)
    for _ in range(READ_EVERY_REQUESTS - 1):
        budget = budget.counted()

    assert not read_due(budget, READ_EVERY_SECONDS - 1)
    assert read_due(budget.counted(), 1.0)
    assert read_due(budget, READ_EVERY_SECONDS)


def test_a_refusing_governor_reads_again_after_one_minute() -> None:
    budget = used(8_500)

    assert not read_due(budget, READ_WHEN_REFUSING_SECONDS - 1, refusing=True)
    assert read_due(budget, READ_WHEN_REFUSING_SECONDS, refusing=True)
    assert not read_due(budget, READ_WHEN_REFUSING_SECONDS, refusing=False)


def test_a_refused_request_is_told_to_come_back_when_use_could_have_fallen() -> None:
    # 90 % used, background stops at 80 %: 1/9 of the window must drain, evenly spread.
    assert retry_after(used(9_000), BACKGROUND) == pytest.approx(3600 / 9)
    assert retry_after(used(8_001), BACKGROUND) == MIN_RETRY_AFTER
    assert retry_after(used(20_000), OPERATOR) == 1800
    assert retry_after(used(100), BACKGROUND) == 0.0


def test_a_limit_of_zero_refuses_everyone() -> None:
    assert paused(Budget(limit=0)) == tuple(Priority)
