"""Golden tests: every tests/fixtures/mail/<parser>/<scenario>.eml parses to its .expected.json.

Adding a case is adding a file pair; nothing here lists scenarios.
"""

from __future__ import annotations

import json
import pkgutil
from pathlib import Path

import pytest

import ticketbridge.connectors.parsers as parsers_package
from ticketbridge.connectors.parsers.registry import PARSERS, ParseState, parse_message

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "mail"
PAIRS = sorted(FIXTURES.glob("*/*.eml"))
PARSER_NAMES = [parser.NAME for parser in PARSERS]


def _outcome_dict(raw: bytes) -> dict[str, object]:
    outcome = parse_message(raw)
    return {
        "state": outcome.state.value,
        "parser": outcome.parser,
        "failure": outcome.failure,
        "reports": [report.to_dict() for report in outcome.reports],
    }


@pytest.mark.parametrize("eml", PAIRS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_fixture_parses_to_its_expected_json(eml: Path) -> None:
    expected = json.loads(eml.with_suffix(".expected.json").read_text(encoding="utf-8"))
    assert _outcome_dict(eml.read_bytes()) == expected


@pytest.mark.parametrize("eml", PAIRS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_fixture_is_read_by_the_parser_of_its_folder(eml: Path) -> None:
    outcome = parse_message(eml.read_bytes())
    if outcome.state is ParseState.NO_PARSER:
        assert eml.parent.name == "generic"  # the generic parser's folder holds its refusals
    else:
        assert outcome.parser == eml.parent.name


def test_corpus_is_not_empty() -> None:
    assert len(PAIRS) >= 30


def test_every_parser_has_a_fixture_folder_with_fixtures() -> None:
    missing = [name for name in PARSER_NAMES if not list((FIXTURES / name).glob("*.eml"))]
    assert missing == []


def test_every_fixture_folder_belongs_to_a_parser_and_has_a_readme() -> None:
    folders = sorted(p for p in FIXTURES.iterdir() if p.is_dir())
    assert [f.name for f in folders if f.name not in PARSER_NAMES] == []
    assert [f.name for f in folders if not (f / "README.md").is_file()] == []


def test_every_eml_has_an_expected_json_and_back() -> None:
    emls = {p.with_suffix("") for p in FIXTURES.glob("*/*.eml")}
    expected = {p.with_suffix("").with_suffix("") for p in FIXTURES.glob("*/*.expected.json")}
    assert emls == expected


def test_every_parser_module_is_registered() -> None:
    modules = [
        info.name
        for info in pkgutil.iter_modules(parsers_package.__path__)
        if hasattr(__import__(f"{parsers_package.__name__}.{info.name}", fromlist=["x"]), "parse")
    ]
    assert sorted(modules) == sorted(PARSER_NAMES)


def test_generic_parser_comes_last() -> None:
    assert PARSER_NAMES[-1] == "generic"


def test_corpus_covers_the_encodings_and_wrappings_the_parsers_must_survive() -> None:
    raw = [p.read_bytes().lower() for p in PAIRS]

    def count(needle: bytes) -> int:
        return sum(needle in r for r in raw)

    assert count(b"content-transfer-encoding: quoted-printable") >= 3
    assert count(b"content-transfer-encoding: base64") >= 2
    assert count(b'charset="iso-8859-1"') + count(b'charset="windows-1252"') >= 2
    assert count(b"content-type: message/rfc822") >= 1
    assert count(b"subject: fwd:") >= 2
