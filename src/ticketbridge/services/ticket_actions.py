"""Operator ticket actions answer within about a second, whatever Autotask does (issue 9 item 4).

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

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from ticketbridge.services import ticket_create
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.ticket_store import LinkResult, TicketError

log = logging.getLogger(__name__)


class ActionPool:
    """Threads for operator ticket actions, apart from the threads answering requests."""

    def __init__(self, threads: int, wait_seconds: float) -> None:
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="tb-ticket")
        self.wait_seconds = wait_seconds

    def run(self, action: Callable[[], LinkResult]) -> LinkResult | None:
        """The action's result when it finishes within the wait (its TicketError raised), else
        None: it goes on in the background."""
        future = self._pool.submit(action)
        try:
            return future.result(timeout=self.wait_seconds)
        except FutureTimeout:
            future.add_done_callback(_log_late_failure)
            return None

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True)


def _log_late_failure(future: Future[LinkResult]) -> None:
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
