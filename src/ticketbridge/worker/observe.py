"""Each job run is timed, counted by outcome and logged under its own context (the ``job``
field of JSON log lines), whichever runner runs it: the wrapper is put on at registration."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

from ticketbridge.connectors import metrics
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.system import log_context
from ticketbridge.services.system.log_context import LogContext

TaskBody = Callable[..., None]


def observed(name: str, body: TaskBody) -> TaskBody:
    @functools.wraps(body)
    def run(runtime: Runtime, **kwargs: Any) -> None:
        outcome = "failed"
        started = time.perf_counter()
        try:
            with log_context.opened(LogContext(job=name)):
                body(runtime, **kwargs)
            outcome = "ok"
        finally:
            metrics.JOB_RUNS.labels(name, outcome).inc()
            metrics.JOB_DURATION.labels(name).observe(time.perf_counter() - started)

    return run


def skipped(name: str) -> None:
    """A run not started because the last one still runs (in-process runner)."""
    metrics.JOB_RUNS.labels(name, "skipped").inc()
