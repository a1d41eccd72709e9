"""JSON log lines: one object per line with the request's or job's context, secrets masked."""

from __future__ import annotations

import logging
import sys

import orjson

from ticketbridge.cli.logs import JsonFormatter, TextFormatter
from ticketbridge.services.system import log_context
from ticketbridge.services.system.log_context import LogContext

KEY = "configured-secret-key-0123456789abcdef"


def record(message: str, *args: object, **extra: object) -> logging.LogRecord:
    made = logging.LogRecord("ticketbridge.test", logging.WARNING, __file__, 1, message, args, None)
    made.__dict__.update(extra)
    return made


def test_a_line_is_one_json_object_with_the_context_where_known() -> None:
    formatter = JsonFormatter()
    outside = orjson.loads(formatter.format(record("no context")))
    context = LogContext(request_id="req-12345678", user="token:ci", job="")
    with log_context.opened(context), log_context.connection("autotask"):
        inside = orjson.loads(formatter.format(record("run %s", 7, source="api")))

    assert set(outside) == {"timestamp", "level", "logger", "message"}
    assert outside["level"] == "WARNING" and outside["logger"] == "ticketbridge.test"
    assert outside["timestamp"].endswith("+00:00")
    assert inside["message"] == "run 7" and inside["source"] == "api"
    assert inside["request_id"] == "req-12345678" and inside["user"] == "token:ci"
    assert inside["connection"] == "autotask" and "job" not in inside


def test_secrets_are_masked_in_messages_extras_and_tracebacks() -> None:
    formatter = JsonFormatter(secrets=[KEY])
    try:
        raise ValueError(f"bad key {KEY}")
    except ValueError:
        failed = record("failed")
        failed.exc_info = sys.exc_info()
    lines = [
        formatter.format(record("key %s", KEY)),
        formatter.format(record("login password=hunter2-horse&next=/")),
        formatter.format(record('{"secret": "s3cr3t-value", "name": "kept"}')),
        formatter.format(record("sent Authorization: Bearer abcdefgh12345678")),
        formatter.format(
            record('alert <Autotask><PW name="zzZ3zZ/2Z1ZzzZZZ0zoZ9z=="/></Autotask>')
        ),
        formatter.format(record("with extra", api_token="tok-abcdef-123456")),
        formatter.format(failed),
    ]
    text = "\n".join(lines)

    masked = ("hunter2-horse", "s3cr3t-value", "abcdefgh12345678", "zzZ3zZ/2Z1ZzzZZZ0zoZ9z==")
    for secret in (KEY, *masked, "tok-abcdef-123456"):
        assert secret not in text
    assert '\\"name\\": \\"kept\\"' in text and "next=/" in text  # the rest stays
    assert "ValueError" in orjson.loads(lines[-1])["exception"]


def test_the_text_format_masks_the_same() -> None:
    line = TextFormatter(secrets=[KEY]).format(record("key %s token=abc123456", KEY))
    assert KEY not in line and "abc123456" not in line and "key ***" in line
