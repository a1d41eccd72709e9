"""When another create may be sent for a run whose ticket is being created (issue 9 item 1)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ticketbridge.core.create_progress import (
    CreatePhase,
    CreateProgress,
    CreateTiming,
    Step,
    next_step,
    settles_at,
    waiting_label,
    worth_checking,
)

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
TIMING = CreateTiming(
    quiet_period=timedelta(minutes=5), longest_call=timedelta(minutes=6), max_attempts=3
)


def progress(phase: CreatePhase, attempts: int = 1) -> CreateProgress:
    return CreateProgress(phase, attempts, T0)


def test_a_create_never_sent_is_sent_at_once() -> None:
    assert next_step(progress(CreatePhase.QUEUED, 0), T0, TIMING) is Step.SEND


def test_no_second_create_while_an_unknown_outcome_may_still_commit() -> None:
    unknown = progress(CreatePhase.UNKNOWN)
    assert next_step(unknown, T0 + timedelta(minutes=4, seconds=59), TIMING) is Step.WAIT
    assert next_step(unknown, T0 + timedelta(minutes=5), TIMING) is Step.SEND


def test_a_create_in_flight_or_lost_with_its_process_waits_for_the_longest_call_too() -> None:
    sending = progress(CreatePhase.SENDING)
    assert settles_at(sending, TIMING) == T0 + timedelta(minutes=11)
    assert next_step(sending, T0 + timedelta(minutes=10), TIMING) is Step.WAIT
    assert next_step(sending, T0 + timedelta(minutes=11), TIMING) is Step.SEND


def test_the_run_is_given_back_after_the_last_attempt_and_its_quiet_period() -> None:
    last = progress(CreatePhase.UNKNOWN, attempts=3)
    assert next_step(last, T0 + timedelta(minutes=1), TIMING) is Step.WAIT
    assert next_step(last, T0 + timedelta(minutes=5), TIMING) is Step.RELEASE


@pytest.mark.parametrize(
    ("phase", "minutes", "expected"),
    [
        (CreatePhase.UNKNOWN, 0, True),
        (CreatePhase.SENDING, 1, False),
        (CreatePhase.QUEUED, 1, False),
        (CreatePhase.SENDING, 6, True),
        (CreatePhase.QUEUED, 6, True),
    ],
)
def test_a_click_searches_only_when_no_create_can_still_be_in_flight(
    phase: CreatePhase, minutes: int, expected: bool
) -> None:
    moment = T0 + timedelta(minutes=minutes)
    assert worth_checking(progress(phase), moment, TIMING) is expected


def test_the_operator_sees_how_long_ago_the_click_was() -> None:
    sent = progress(CreatePhase.UNKNOWN)
    assert waiting_label(sent, T0, T0 + timedelta(seconds=42)) == (
        "Creating ticket, waiting for Autotask to answer (42 s since the click)"
    )
    assert waiting_label(sent, T0, T0 + timedelta(minutes=3, seconds=5)).endswith(
        "(3 min 05 s since the click)"
    )
    assert waiting_label(progress(CreatePhase.QUEUED, 0), T0, T0).startswith(
        "Creating ticket, queued"
    )


def test_timing_needs_at_least_one_attempt() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        CreateTiming(timedelta(minutes=5), timedelta(minutes=1), max_attempts=0)
