"""Duplicate tickets for one run (issue 9 item 2): the pure rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ticketbridge.core.ticket_duplicates import (
    FoundTicket,
    InvalidChoice,
    check_due,
    distinct,
    is_duplicate,
    note_text,
    same_tickets,
    suggested_keeper,
    to_note,
    unsettled,
    validate_choice,
)

A = FoundTicket(101, "T20261120.0001")
B = FoundTicket(102, "T20261120.0002")
C = FoundTicket(103, "T20261121.0001")
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def test_two_tickets_carrying_one_reference_are_a_duplicate() -> None:
    assert is_duplicate([A, B], linked_ticket_id=A.id)
    assert is_duplicate([B, A], linked_ticket_id=None)


def test_one_ticket_or_the_same_ticket_twice_is_not() -> None:
    assert not is_duplicate([], linked_ticket_id=None)
    assert not is_duplicate([A], linked_ticket_id=A.id)
    assert not is_duplicate([A, A], linked_ticket_id=A.id)


def test_tickets_an_earlier_choice_noted_do_not_come_back() -> None:
    # Kept B (now linked), A was given the note: finding both again is settled.
    assert not is_duplicate([A, B], linked_ticket_id=B.id, settled=[A.id])
    # A third copy appears: a duplicate again, with only the new one unsettled.
    assert is_duplicate([A, B, C], linked_ticket_id=B.id, settled=[A.id])
    assert unsettled([A, B, C], B.id, [A.id]) == {C.id}


def test_the_suggested_keeper_is_the_linked_ticket_else_the_oldest() -> None:
    assert suggested_keeper([A, B], linked_ticket_id=B.id) == B
    assert suggested_keeper([B, A], linked_ticket_id=None) == A
    assert suggested_keeper([C, B], linked_ticket_id=999) == B
    with pytest.raises(ValueError):
        suggested_keeper([], linked_ticket_id=None)


def test_the_choice_must_be_one_of_the_tickets_found() -> None:
    assert validate_choice([A, B], B.id) == B
    with pytest.raises(InvalidChoice, match=r"T20261120\.0001, T20261120\.0002"):
        validate_choice([A, B], C.id)


def test_every_ticket_but_the_kept_one_gets_the_note() -> None:
    assert to_note([C, A, B], kept_id=B.id) == (A, C)
    assert to_note([A], kept_id=A.id) == ()


def test_note_names_the_kept_ticket_run_and_reference_and_says_nothing_was_closed() -> None:
    text = note_text(B, 42, "run-42@tb.example.com")

    assert text.startswith("Duplicate of Autotask ticket T20261120.0002 (kept for ticketbridge")
    assert "run 42" in text and "run-42@tb.example.com" in text
    assert "created twice for the same backup run" in text
    assert "not closed or deleted" in text


def test_tickets_are_compared_by_id_and_listed_oldest_first() -> None:
    assert distinct([C, A, B, A]) == (A, B, C)
    assert same_tickets([A, B], [B, FoundTicket(A.id, "renumbered")])
    assert not same_tickets([A, B], [A, C])
    assert FoundTicket.of({"id": "7", "number": None}) == FoundTicket(7, "")
    assert A.as_dict() == {"id": 101, "number": "T20261120.0001"}


def test_a_run_page_checks_again_after_five_minutes() -> None:
    assert check_due(None, NOW)
    assert not check_due(NOW - timedelta(minutes=4, seconds=59), NOW)
    assert check_due(NOW - timedelta(minutes=5), NOW)
    assert check_due(NOW + timedelta(minutes=1), NOW)  # a clock set back
