"""The pool that runs operator ticket actions beside the request threads (issue 9 item 4)."""

from __future__ import annotations

import threading

from ticketbridge.services.tickets.actions import ActionPool
from ticketbridge.services.tickets.store import LinkResult


def test_an_action_slower_than_the_wait_goes_on_and_the_click_gets_none() -> None:
    pool = ActionPool(threads=1, wait_seconds=0)
    release, finished = threading.Event(), threading.Event()

    def slow() -> LinkResult:
        release.wait(timeout=30)
        finished.set()
        raise RuntimeError("late failures are logged, not raised to the click")

    assert pool.run(slow) is None
    release.set()
    pool.shutdown()  # waits for the action under way
    assert finished.is_set()


def test_the_pool_works_again_after_a_shutdown() -> None:
    # An application whose lifespan runs twice (an embedding server, tests) keeps its actions.
    pool = ActionPool(threads=1, wait_seconds=5)
    pool.shutdown()
    sentinel = LinkResult(link=None, message="done")  # type: ignore[arg-type]

    assert pool.run(lambda: sentinel) is sentinel
    pool.shutdown()
    assert pool.run(lambda: sentinel) is sentinel
