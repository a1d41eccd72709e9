"""Operator ticket actions answer within about a second, whatever Autotask does (issue 9 item 4).
The same pool runs the alert actions (Create ticket, Join) for the same reason.

A click reserves what it needs in the database at once (a create's reservation), then the part
that talks to Autotask runs on a thread of the :class:`ActionPool`. The click waits for it a
moment (``ticket_action_wait_seconds``); when it has not finished by then, the click answers
with the run's ticket as it stands ("Creating ticket, waiting for Autotask to answer") and the
action goes on. Its outcome lands on the run (link state, audit event), which the run page shows
on reload. Anything left unsettled, a create whose outcome is unknown or whose process died, is
taken up by the periodic job ``tickets.recover_creating`` on the worker seam (in-process on
SQLite, procrastinate workers on PostgreSQL).
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, TypeVar

from ticketbridge.services.runtime import Runtime
from ticketbridge.services.tickets import create as ticket_create
from ticketbridge.services.tickets.store import LinkResult, TicketError

log = logging.getLogger(__name__)
T = TypeVar("T")


class ActionPool:
    """Threads for operator ticket actions, apart from the threads answering requests."""

    def __init__(self, threads: int, wait_seconds: float) -> None:
        self.threads = threads
        self.wait_seconds = wait_seconds
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def run(self, action: Callable[[], T]) -> T | None:
        """The action's result when it finishes within the wait (its error raised), else None:
        it goes on in the background."""
        # In the click's context: its log lines and audit events keep the request id.
        future = self._executor().submit(contextvars.copy_context().run, action)
        try:
            return future.result(timeout=self.wait_seconds)
        except FutureTimeout:
            future.add_done_callback(_log_late_failure)
            return None

    def _executor(self) -> ThreadPoolExecutor:
        # Started on first use and again after a shutdown: an application whose lifespan runs
        # more than once (tests, an embedding server) keeps working.
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    max_workers=self.threads, thread_name_prefix="tb-ticket"
                )
            return self._pool

    def shutdown(self) -> None:
        """Wait for the actions under way; the next action starts the threads again."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)


def _log_late_failure(future: Future[Any]) -> None:
    error = future.exception()
    if isinstance(error, TicketError):
        log.info("ticket action finished after its click was answered: %s", error.message)
    elif error is not None:
        log.error("ticket action failed", exc_info=error)


def create_soon(
    runtime: Runtime, pool: ActionPool, run_id: int, *, actor: str
) -> LinkResult | None:
    """Create Autotask ticket from a click: refusals and the reservation now, the requests on
    the pool. None: still waiting for Autotask."""
    reservation = ticket_create.reserve(runtime, run_id, actor=actor)
    return pool.run(
        lambda: ticket_create.settle(
            runtime, reservation.link_id, actor=actor, action=reservation.action
        )
    )
