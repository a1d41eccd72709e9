"""Test connection: one connect and sign-in with a source's settings; nothing is stored.

IMAP and Microsoft 365: the connector's `check()` connects, signs in and opens the folders
(connectors/mail/base.py) and says what it found, or its error says what went wrong (wrong
password, unknown mailbox, certificate not trusted, ...). The SMTP receiver is ticketbridge
itself listening, so its test says whether something answers at the address, or else whether
ticketbridge could listen there. The settings tested are the form's, saved or not; a stored
secret is used only while they still point where it was entered for.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any

from ticketbridge.connectors.errors import ConnectorError
from ticketbridge.connectors.registry import load
from ticketbridge.services.mail.source_config import (
    SECRET_FIELDS,
    SOURCE_CLASSES,
    FieldProblem,
    SourceError,
    SourceInvalid,
    check_config,
    config_class,
    secret_required,
)

# A test holds a request thread: it gives up sooner than a poll would.
TEST_TIMEOUT_SECONDS = 15.0
_SMTP_PROBE_SECONDS = 3.0


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    message: str


def test_connection(
    kind: str, config: dict[str, Any], secret: str | None, **options: Any
) -> CheckResult:
    """Connect once with `config` (and `secret`); `options` go to the connector (tests give
    the Graph emulator's client and a token provider). Refused settings raise SourceInvalid
    with every problem, as saving them would."""
    if kind == "smtp":
        _valid(kind, config, None)
        return _probe_smtp(config)
    if kind not in SOURCE_CLASSES:
        raise SourceError("kind", f"a {kind} source has nothing to connect to")
    secret_field = SECRET_FIELDS[kind]
    problems = [] if secret or not secret_required(kind) else [_missing_secret(secret_field)]
    _, config_problems = check_config(kind, config, secret)
    if problems or config_problems:
        raise SourceInvalid(problems + config_problems)
    cls = load(kind, SOURCE_CLASSES)
    model = cls.Config.model_validate({**config, **({secret_field: secret} if secret else {})})
    timeout = min(model.timeout_seconds, TEST_TIMEOUT_SECONDS)
    connector = cls(model.model_copy(update={"timeout_seconds": timeout}), **options)
    try:
        return CheckResult(True, connector.check())
    except ConnectorError as exc:  # its message is safe to show and holds no secret
        return CheckResult(False, str(exc))
    finally:
        connector.close()


def _missing_secret(secret_field: str) -> FieldProblem:
    label = secret_field.replace("_", " ")
    return FieldProblem(
        "secret",
        f"enter the {label} to test (a stored one is used only while the host, user and "
        "the other settings it was entered for stay the same)",
    )


def _valid(kind: str, config: dict[str, Any], secret: str | None) -> None:
    _, problems = check_config(kind, config, secret)
    if problems:
        raise SourceInvalid(problems)


def _probe_smtp(config: dict[str, Any]) -> CheckResult:
    model = config_class("smtp")
    assert model is not None  # the smtp kind has a config model
    settings = model.model_validate(config).model_dump()
    host, port = str(settings["host"]), int(settings["port"])
    if port == 0:
        return CheckResult(True, "port 0: the receiver takes a free port when serve starts")
    target = "127.0.0.1" if host in ("0.0.0.0", "") else "::1" if host == "::" else host
    try:
        with socket.create_connection((target, port), timeout=_SMTP_PROBE_SECONDS) as conn:
            conn.settimeout(_SMTP_PROBE_SECONDS)
            greeting = conn.recv(512).decode("ascii", "replace").strip().splitlines()
    except OSError:
        return _bind_check(host, port)
    first = greeting[0][:200] if greeting else "(no greeting)"
    if first.startswith("220"):
        return CheckResult(True, f"an SMTP server answers at {host}:{port}: {first}")
    return CheckResult(False, f"something at {host}:{port} answers, but not as SMTP: {first}")


def _bind_check(host: str, port: int) -> CheckResult:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return CheckResult(
            False, f"nothing answers at {host}:{port}, and it cannot listen there: {reason}"
        )
    return CheckResult(
        True,
        f"nothing answers at {host}:{port} yet; the receiver can listen there once serve "
        "starts (restart serve after saving)",
    )
