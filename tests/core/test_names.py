"""The one name rule: which names are the same name, and which cannot be names at all."""

from __future__ import annotations

import pytest

from ticketbridge.core.names import close_matches, normalise, problem
from ticketbridge.core.roles import Role, ingest_creates_customers


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("ÖKO Bau", "öko bau"),
        ("ACME LOGISTICS", "Acme Logistics"),
        ("Straße", "STRASSE"),  # case folding, not lower(): ß folds to ss
        ("ﬁrma", "FIRMA"),  # NFKC: the ligature is two letters
        ("Ｆｕｌｌ　Ｗｉｄｔｈ", "full width"),  # NFKC: full-width letters and space
        ("Acme  \u00a0Logistics ", " acme logistics"),  # whitespace runs collapse, ends trim
        ("Ö", "O\u0308"),  # composed and decomposed are one letter
        ("Σίσυφος", "ΣΊΣΥΦΟΣ"),  # final sigma folds like sigma
    ],
)
def test_names_that_differ_only_in_case_width_or_spacing_share_a_key(
    first: str, second: str
) -> None:
    assert normalise(first) == normalise(second)


@pytest.mark.parametrize(
    ("first", "second"),
    [("Acme Logistics", "Acme-Logistics"), ("Öko Bau", "Oko Bau"), ("Job 1", "Job 11")],
)
def test_different_names_keep_different_keys(first: str, second: str) -> None:
    assert normalise(first) != normalise(second)


def test_the_key_is_stable_under_normalising_again() -> None:
    for name in ("ÖKO Bau", "ﬁrma", "Straße", "İstanbul", "ǅemal"):
        assert normalise(normalise(name)) == normalise(name)


@pytest.mark.parametrize(
    ("name", "found"),
    [
        ("Acme\u202eLogistics\u200b", "U+202E"),  # right-to-left override (then a ZWSP)
        ("Acme\u200bLogistics", "U+200B"),  # zero-width space
        ("Acme\u200dLogistics", "U+200D"),  # zero-width joiner
        ("\ufeffAcme", "U+FEFF"),  # byte order mark
        ("Acme\u2066Logistics\u2069", "U+2066"),  # isolate
        ("Acme\u200fLogistics", "U+200F"),  # right-to-left mark
        ("Acme\u061cLogistics", "U+061C"),  # Arabic letter mark
        ("Acme\x00Logistics", "U+0000"),  # NUL
        ("Acme\tLogistics", "U+0009"),
        ("Acme\nLogistics", "U+000A"),
        ("Acme\x7fLogistics", "U+007F"),
        ("Acme\u2028Logistics", "U+2028"),  # line separator
        ("Acme\ud800", "U+D800"),  # lone surrogate (JSON can carry one)
    ],
)
def test_invisible_control_and_direction_characters_are_refused_by_code_point(
    name: str, found: str
) -> None:
    message = problem(name)
    assert message is not None and found in message


@pytest.mark.parametrize(
    "name",
    ["Acme Logistics", "ÖKO Bau", "Müller & Söhne GmbH", "株式会社テスト", "שלום", "Ünïcødé 😀"],
)
def test_ordinary_names_in_any_script_are_accepted(name: str) -> None:
    assert problem(name) is None


def test_a_name_whose_key_would_not_fit_is_refused() -> None:
    assert problem("ﷺ" * 30, key_length=400) is not None  # one character, 18 letters each
    assert problem("ﷺ" * 20, key_length=400) is None


def test_close_matches_name_what_a_typo_was_meant_to_be() -> None:
    known = ["Acme Logistics", "Brightwater Dental", "ACME LOGISTICS", "Acme"]

    assert close_matches("Acme Logistcs", known) == ["Acme Logistics"]
    assert close_matches("brightwater", known) == ["Brightwater Dental"]
    assert close_matches("Zebra Zoo Supplies", known) == []
    assert close_matches("Acme Logistcs", []) == []


def test_only_customer_managers_create_customers_by_reporting_runs() -> None:
    assert ingest_creates_customers(Role.ADMIN)
    assert not ingest_creates_customers(Role.OPERATOR)
