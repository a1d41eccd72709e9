"""The whole test session's log, as JSON lines, searched for the tests' secrets at its end.

Every record any logger passes at INFO or above (the production level) is written through the
production JSON formatter into ``var/test-logs/session-<pid>.jsonl``. The formatter keeps its
pattern-based safety net but is given no secret values, so a secret logged by the code is found
here whatever its form. The secrets are the suite's fixed ones and every API token a test
creates. A hit fails the session (exit status 1), naming the secret and the line; so does a
capture that lost its own first line, so the check cannot pass by seeing nothing.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ticketbridge.cli.logs import QUIET_LOGGERS, JsonFormatter
from ticketbridge.emulators.autotask.auth import DEMO_API_SECRET
from ticketbridge.services.accounts import users as accounts

# Fixed secrets of the fixtures, beside the secret key conftest passes in.
FIXED = (
    DEMO_API_SECRET,
    "correct-horse-battery",  # tests/factories.py PASSWORD
    "zzZ3zZ/2Z1ZzzZZZ0zoZ9z==",  # the ATES PW of the vendor's sample (tests/services/alerts)
    "first-secret",  # an ATES PW of tests/fixtures/ates
    "client-secret-value-xyz",  # Graph client secret (tests/connectors/mail)
    "s3cret-Value-42",  # Autotask double's API secret (tests/connectors/psa/autotask)
    "metrics-token-for-tests-0123456789",  # tests/web/test_metrics.py
)
CANARY = "test session log capture started"
# Quiet in production too (cli/logs.py QUIET_LOGGERS).
_QUIET = QUIET_LOGGERS


@dataclass
class Leak:
    secret: str
    line_number: int
    line: str

    def describe(self) -> str:
        shown = self.secret[:4] + "…"
        line = self.line.replace(self.secret, "<the secret>")[:300]
        return f"line {self.line_number} holds the test secret {shown!r}: {line}"


def find_leaks(lines: Iterable[str], secrets: Iterable[str]) -> list[Leak]:
    wanted = sorted({s for s in secrets if s}, key=len, reverse=True)
    found = []
    for number, line in enumerate(lines, 1):
        for secret in wanted:
            if secret in line:
                found.append(Leak(secret, number, line.rstrip("\n")))
    return found


@dataclass
class Capture:
    path: Path
    secrets: set[str]
    handler: logging.Handler
    restore: list[tuple[logging.Logger, int]] = field(default_factory=list)
    create_token: Any = None

    def lines(self) -> Iterator[str]:
        with self.path.open(encoding="utf-8") as handle:
            yield from handle

    def problems(self) -> list[str]:
        """What fails the session: leaks, or a capture that did not capture."""
        self.handler.flush()
        if not self.path.exists() or not any(CANARY in line for line in self.lines()):
            return [f"the session log {self.path} lost its first line: the check saw nothing"]
        return [leak.describe() for leak in find_leaks(self.lines(), self.secrets)]


def start(directory: Path, secrets: Iterable[str]) -> Capture:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"session-{os.getpid()}.jsonl"
    handler = logging.FileHandler(path, mode="w", encoding="utf-8")
    handler.setFormatter(JsonFormatter())
    handler.setLevel(logging.INFO)
    capture = Capture(path, {*FIXED, *secrets}, handler)
    root = logging.getLogger()
    root.addHandler(handler)
    for logger, level in [(root, logging.INFO)] + [
        (logging.getLogger(name), logging.WARNING) for name in _QUIET
    ]:
        capture.restore.append((logger, logger.level))
        if logger is not root or logger.getEffectiveLevel() > level:
            logger.setLevel(level)
    _remember_tokens(capture)
    logging.getLogger("tests.log_secrets").info(CANARY)
    return capture


def _remember_tokens(capture: Capture) -> None:
    """Every API token a test creates joins the secrets searched for."""
    original = capture.create_token = accounts.create_token

    def recording(*args: Any, **kwargs: Any) -> Any:
        made = original(*args, **kwargs)
        capture.secrets.add(made[1])
        return made

    accounts.create_token = recording  # type: ignore[assignment]


def finish(capture: Capture, session: pytest.Session) -> None:
    problems = capture.problems()
    logging.getLogger().removeHandler(capture.handler)
    capture.handler.close()
    for logger, level in capture.restore:
        logger.setLevel(level)
    accounts.create_token = capture.create_token  # type: ignore[assignment]
    if not problems:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    for problem in problems:
        message = f"SECRET IN LOGS ({capture.path}): {problem}"
        if reporter is not None:
            reporter.write_line(message, red=True)
        else:
            print(message)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
