"""Log lines: plain text, or one JSON object per line (TICKETBRIDGE_LOG_FORMAT=json).

A JSON line carries ``timestamp`` (UTC, ISO 8601), ``level``, ``logger``, ``message``, and
where known ``request_id``, ``route``, ``user``, ``job`` and ``connection`` (from
services/log_context.py), plus ``exception`` with the traceback. uvicorn's own loggers (its
access log included) go through the same formatter, in every worker process.

Nothing logged should hold a secret; the formatter is the safety net for what slips through,
in both formats: the values of the configured secrets, ``key=value`` and ``"key": "value"``
pairs whose key names a credential, bearer and basic credentials, and ATES token credentials
are replaced by ``***`` before a line is written.
"""

from __future__ import annotations

import logging
import logging.config
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import orjson

from ticketbridge.core import ates_tokens
from ticketbridge.services.system import log_context
from ticketbridge.settings import Settings

MASK = "***"
_SECRET_KEY = (
    r"password|passwd|pwd|secret|client_secret|token|api[_-]?key|apiintegrationcode"
    r"|integration[_-]?code|authorization|cookie"
)
_PAIRS = re.compile(
    rf"""(?ix)
    (["']?\b(?:{_SECRET_KEY})\b["']?\s*[:=]\s*["']?)   # the key and its separator
    (?:(?:bearer|basic)\s+)?                          # a scheme of an Authorization value
    [^\s"'&,;}}]+                                     # the value
    """
)
_SECRET_NAME = re.compile(rf"(?i)(?:{_SECRET_KEY})")
_SCHEMES = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}")
_ATES = re.compile(r"(?i)(<|&lt;)\s*autotask")
# At INFO, SQLAlchemy would echo every statement and httpx every URL with its query string
# (user names, paging state); the connectors' own API log says what is worth saying.
QUIET_LOGGERS = ("sqlalchemy", "httpx", "httpcore")
# Attributes every LogRecord has; anything else was passed as ``extra`` and is written too.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


class Redactor:
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Short values would mask ordinary words; every configured secret is longer.
        self._values = sorted({s for s in secrets if s and len(s) >= 8}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for value in self._values:
            text = text.replace(value, MASK)
        text = _PAIRS.sub(lambda m: m.group(1) + MASK, text)
        text = _SCHEMES.sub(lambda m: f"{m.group(1)} {MASK}", text)
        if _ATES.search(text):
            text = ates_tokens.redact(text)
        return text


def configured_secrets(settings: Settings) -> list[str]:
    found = (settings.secret_key, settings.demo_password, settings.metrics_token)
    return [secret.get_secret_value() for secret in found if secret is not None]


class TextFormatter(logging.Formatter):
    def __init__(self, fmt: str | None = None, *, secrets: Iterable[str] = ()) -> None:
        super().__init__(fmt or "%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.redact = Redactor(secrets)

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(super().format(record))


class JsonFormatter(logging.Formatter):
    def __init__(self, *, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.redact = Redactor(secrets)

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": self.redact(record.getMessage()),
        }
        context = log_context.current()
        if context is not None:
            line.update(context.fields())
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key not in line:
                secret = _SECRET_NAME.search(key)
                line[key] = MASK if secret else self.redact(str(value))
        if record.exc_info:
            line["exception"] = self.redact(self.formatException(record.exc_info))
        return orjson.dumps(line, default=str).decode()


def formatter(settings: Settings) -> logging.Formatter:
    secrets = configured_secrets(settings)
    if settings.log_format == "json":
        return JsonFormatter(secrets=secrets)
    return TextFormatter(secrets=secrets)


def uvicorn_config(settings: Settings) -> dict[str, Any]:
    """A ``log_config`` for uvicorn: applied in every worker process it starts, so the root
    logger and uvicorn's loggers all write through :func:`formatter`."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "default": {"()": f"{__name__}.formatter", "settings": settings},
        },
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "stream": "ext://sys.stderr",
            },
        },
        "root": {"handlers": ["default"], "level": settings.log_level.upper()},
        "loggers": {
            **{
                name: {"handlers": [], "propagate": True}
                for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
            },
            **{name: {"level": "WARNING"} for name in QUIET_LOGGERS},
        },
    }


def configure(settings: Settings) -> None:
    """Set up the root logger for commands that run no uvicorn (the worker)."""
    logging.config.dictConfig(uvicorn_config(settings))
