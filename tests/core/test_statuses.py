"""One severity order for every status, the one the daily review reads in (issue 11): Failed,
Error, Missed, Warning, then Unknown, then Success."""

from __future__ import annotations

from ticketbridge.core.run_order import QUEUE_ORDER, queue_rank
from ticketbridge.core.statuses import WORST_FIRST, RunStatus, severity, worst, worst_first

F, E, M, W, U, S = (
    RunStatus.FAILED,
    RunStatus.ERROR,
    RunStatus.MISSED,
    RunStatus.WARNING,
    RunStatus.UNKNOWN,
    RunStatus.SUCCESS,
)


def test_worst_first_is_failed_error_missed_warning_unknown_success() -> None:
    assert WORST_FIRST == (F, E, M, W, U, S)
    assert set(WORST_FIRST) == set(RunStatus)


def test_severity_rises_with_how_bad_a_status_is() -> None:
    assert severity(F) > severity(E) > severity(M) > severity(W) > severity(U) > severity(S)


def test_worst_of_a_set_follows_the_order_and_an_empty_set_has_none() -> None:
    assert worst([S, M, E]) is E
    assert worst([W, M, U]) is M
    assert worst([S, F, E]) is F
    assert worst([]) is None


def test_worst_first_sorts_distinct_statuses() -> None:
    assert worst_first([S, W, M, S, E, U, F]) == [F, E, M, W, U, S]


def test_the_review_queue_ranks_by_the_same_order() -> None:
    assert QUEUE_ORDER == WORST_FIRST
    assert sorted(RunStatus, key=queue_rank) == list(WORST_FIRST)
    assert queue_rank("error") < queue_rank("missed")
