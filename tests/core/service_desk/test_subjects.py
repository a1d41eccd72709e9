from __future__ import annotations

import pytest

from ticketbridge.core.service_desk.subjects import (
    DEFAULT_KEY_PATTERNS,
    KeyPattern,
    find_ticket_keys,
    is_forward,
    normalise_subject,
    pattern_errors,
)


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Re: Printer down", "Printer down"),
        ("RE: AW: Fwd: WG: SV: Printer   down", "Printer down"),
        ("Re[2]: Re (3): Printer down", "Printer down"),
        ("AW : Printer down", "Printer down"),
        ("Re: [SUP-12] AW: Printer down", "Printer down"),
        ("[SUP-12] Re: Printer down", "Printer down"),
        ("Restart: server", "Restart: server"),
        ("Re:", ""),
    ],
)
def test_subjects_lose_reply_and_forward_prefixes_and_leading_keys(
    subject: str, expected: str
) -> None:
    assert normalise_subject(subject, DEFAULT_KEY_PATTERNS) == expected


def test_a_key_inside_the_subject_stays_for_display() -> None:
    assert (
        normalise_subject("Printer [SUP-12] down", DEFAULT_KEY_PATTERNS) == "Printer [SUP-12] down"
    )


def test_forwards_are_told_from_replies() -> None:
    assert is_forward("Re: WG: Invoice") and is_forward("Fwd: Invoice") and is_forward("TR: x")
    assert not is_forward("Re: AW: Invoice") and not is_forward("Forward planning")


def test_jira_keys_in_brackets_and_autotask_numbers_are_found_once_in_order() -> None:
    subject = "Re: [sup-12] see T20240101.0001 and [SUP-12], not ISO-9001 or COVID-19"
    assert find_ticket_keys(subject, DEFAULT_KEY_PATTERNS) == ("SUP-12", "T20240101.0001")


def test_a_configured_pattern_without_a_group_takes_the_whole_match() -> None:
    assert find_ticket_keys("Ticket #4711 update", [KeyPattern("hash", r"#\d{1,8}")]) == ("#4711",)


@pytest.mark.parametrize(
    "regex",
    [
        r"(a+)+$",
        r"(a|aa)+$",
        r"(?:x\d)*",
        r"(ab){3}",
        r".*.*.*x",
        r"\w+\w+\w+\d",
        "a" * 201,
        "(a",
        "",
    ],
)
def test_patterns_that_can_hang_or_do_not_compile_are_refused(regex: str) -> None:
    assert pattern_errors(regex)


@pytest.mark.parametrize(
    "regex", [r"\[([A-Z]+-\d+)\]", r"INC(\d{6})", r"x(?P<n>\d+)?", r"[(]+", r"a*?b", r".*x"]
)
def test_ordinary_key_patterns_are_accepted(regex: str) -> None:
    assert pattern_errors(regex) == []


def test_defaults_pass_their_own_guard() -> None:
    assert all(pattern_errors(p.regex) == [] for p in DEFAULT_KEY_PATTERNS)


def test_a_refused_pattern_is_skipped_rather_than_run() -> None:
    hanging = KeyPattern("bad", r"(a+)+$")
    assert find_ticket_keys("a" * 40 + "!", [hanging, *DEFAULT_KEY_PATTERNS]) == ()


def test_more_than_one_group_is_refused() -> None:
    assert pattern_errors(r"([A-Z]+)-(\d+)") == ["Use at most one capture group: it marks the key."]
