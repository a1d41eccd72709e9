"""The suite-wide check for secrets in the logs (tests/log_secrets.py) finds what it must."""

from __future__ import annotations

import logging
from pathlib import Path

from tests import log_secrets
from tests.conftest import TEST_SECRET_KEY


def test_a_line_holding_a_secret_is_found_with_its_line_number() -> None:
    lines = ['{"message": "all fine"}', f'{{"message": "key was {TEST_SECRET_KEY}"}}']

    [leak] = log_secrets.find_leaks(lines, [TEST_SECRET_KEY, "not-logged-anywhere"])

    assert leak.line_number == 2 and leak.secret == TEST_SECRET_KEY
    assert TEST_SECRET_KEY not in leak.describe()  # the report does not print it again


def test_a_secret_logged_through_logging_fails_the_capture(tmp_path: Path) -> None:
    capture = log_secrets.start(tmp_path, ["planted-secret-value-42"])
    try:
        logging.getLogger("ticketbridge.somewhere").warning("oops: %s", "planted-secret-value-42")
        [problem] = capture.problems()
    finally:
        logging.getLogger().removeHandler(capture.handler)
        capture.handler.close()
        for logger, level in capture.restore:
            logger.setLevel(level)
        log_secrets.accounts.create_token = capture.create_token
    assert "line 2" in problem and "plan…" in problem


def test_a_capture_that_captured_nothing_is_a_problem(tmp_path: Path) -> None:
    handler = logging.NullHandler()
    capture = log_secrets.Capture(tmp_path / "missing.jsonl", {"x" * 10}, handler)

    [problem] = capture.problems()

    assert "lost its first line" in problem
