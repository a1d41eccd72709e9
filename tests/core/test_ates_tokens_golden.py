"""Golden files for ATES tokens: what is read from a mail body, and the body once redacted.

Each scenario is tests/fixtures/ates/<scenario>.txt or .html, next to
<scenario>.expected.json (the tokens read, and the credentials that must be gone) and
<scenario>.redacted.txt|.html (the body as stored). A new scenario is picked up without
touching this module: write its input and its expected.json's "secrets", then run
`.venv/bin/python -m tests.core.test_ates_tokens_golden` and review the diff.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ticketbridge.core.ates_tokens import find_tokens, first_token, redact

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ates"
SCENARIOS = sorted(
    path.name
    for path in FIXTURES.iterdir()
    if path.suffix in (".txt", ".html") and ".redacted." not in path.name
)


def _stem(name: str) -> str:
    return name.rsplit(".", 1)[0]


def _redacted_path(name: str) -> Path:
    stem, ext = name.rsplit(".", 1)
    return FIXTURES / f"{stem}.redacted.{ext}"


def observed(text: str) -> list[dict[str, Any]]:
    return [{**t.facts(), "has_credentials": t.has_credentials} for t in find_tokens(text)]


def expected(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{_stem(name)}.expected.json").read_text())
    return data


@pytest.mark.parametrize("name", SCENARIOS)
def test_tokens_are_read_as_expected(name: str) -> None:
    text = (FIXTURES / name).read_text("utf-8")

    assert observed(text) == expected(name)["tokens"]


@pytest.mark.parametrize("name", SCENARIOS)
def test_redaction_removes_every_credential_and_nothing_else(name: str) -> None:
    text = (FIXTURES / name).read_text("utf-8")

    redacted = redact(text)

    assert redacted == _redacted_path(name).read_text("utf-8")
    for secret in expected(name)["secrets"]:
        assert secret in text and secret not in redacted
    # What the token says survives, and a second pass changes nothing.
    assert [t.facts() for t in find_tokens(redacted)] == [t.facts() for t in find_tokens(text)]
    assert not any(t.has_credentials for t in find_tokens(redacted))
    assert redact(redacted) == redacted


def test_first_token_prefers_one_that_says_something() -> None:
    text = "<Autotask><PW name='x'/></Autotask> then <Autotask><AlertID name='7'/></Autotask>"

    found = first_token(text)

    assert found is not None and found.alert_id == "7"
    assert first_token("no token here") is None


def _rewrite() -> None:
    for name in SCENARIOS:
        text = (FIXTURES / name).read_text("utf-8")
        path = FIXTURES / f"{_stem(name)}.expected.json"
        secrets = json.loads(path.read_text())["secrets"] if path.exists() else []
        data = {"tokens": observed(text), "secrets": secrets}
        path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", "utf-8")
        _redacted_path(name).write_text(redact(text), "utf-8")


if __name__ == "__main__":
    _rewrite()
