"""The confirming read right after a hint, instead of at the next minute's job.

A callout or webhook about a linked ticket asks for a read of it (``apply.record_hint`` sets
the hint's ``fetch_due_at``). The receiver then calls :meth:`PromptFetch.kick`, and the read
(:func:`polling.fetch_hinted`) runs on a thread of its own, so the run shows who completed the
ticket within seconds. The minute's job ``roundtrip.fetch_hinted`` stays: it catches what a
stopped process left due, and retries failed reads on their backoff.

- **De-duplicated per ticket**: a ticket has one hint row, however many hints came; one fetch
  reads every due ticket, 500 per request.
- **Coalesced and rate-limited**: at most one fetch runs per process, and one waits while it
  runs; fetches start at least ``MIN_INTERVAL_SECONDS`` apart, so a storm of callouts costs
  Autotask one request per interval, not one per callout. Requests queue at the request
  governor as round-trip work, after operator actions.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from ticketbridge.services.roundtrip import polling
from ticketbridge.services.runtime import Runtime

log = logging.getLogger(__name__)
MIN_INTERVAL_SECONDS = 10.0
# Outcomes of a hint about a linked ticket: each asked for the read.
HINTED = frozenset({"applied", "duplicate", "stale", "held", "recorded"})


class PromptFetch:
    def __init__(
        self,
        runtime: Runtime,
        *,
        min_interval: float = MIN_INTERVAL_SECONDS,
        fetch: Callable[[Runtime], object] = polling.fetch_hinted,
    ) -> None:
        self.runtime = runtime
        self.min_interval = min_interval
        self._fetch = fetch
        self._state = threading.Condition()
        self._scheduled = False
        self._running = False
        self._last = float("-inf")
        self._timer: threading.Timer | None = None

    def kick(self) -> None:
        """Read the hinted tickets soon (now, unless the last fetch started moments ago)."""
        with self._state:
            if self._scheduled:
                return
            self._scheduled = True
            wait = max(0.0, self._last + self.min_interval - time.monotonic())
            self._timer = threading.Timer(wait, self._run)
            self._timer.daemon = True
            self._timer.start()

    def settle(self, timeout: float) -> bool:
        """Wait until no fetch is scheduled or running (shutdown, tests); False on timeout."""
        with self._state:
            return self._state.wait_for(lambda: not (self._scheduled or self._running), timeout)

    def stop(self) -> None:
        """Cancel a fetch that waits for its interval; one under way finishes."""
        with self._state:
            if self._timer is not None and self._scheduled and not self._running:
                self._timer.cancel()
                self._scheduled = False
                self._state.notify_all()

    def _run(self) -> None:
        with self._state:
            self._state.wait_for(lambda: not self._running)
            self._scheduled = False  # a hint from now on schedules the next fetch
            self._running = True
            self._last = time.monotonic()
        try:
            self._fetch(self.runtime)
        except Exception:  # the job retries it; a hint must never take the receiver down
            log.exception("round trip: the read after a hint failed")
        finally:
            with self._state:
                self._running = False
                self._state.notify_all()
