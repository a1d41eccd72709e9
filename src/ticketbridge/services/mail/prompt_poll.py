"""The poll a change notification asks for, right after it, instead of at the source's next
poll interval (services/mail/subscriptions.py).

The receiver answers Graph first (Graph wants an answer within about 3 seconds) and calls
`PromptPoll.kick`; the poll (services.mail.polling.poll, which takes the source's lease, so it
never reads a mailbox another poller is reading) runs on a thread of its own:

- **Coalesced per source**: notifications arriving while a source's poll runs ask for one more
  poll after it, not one each; a poll reads everything new anyway.
- **Busy**: when another poller holds the lease, it may have read the folder before this mail
  arrived, so the poll is tried once more after `BUSY_RETRY_SECONDS`; the periodic poll stays
  the safety net.
- ``after(runtime, result)`` runs once a poll stored mail (the web app makes desk mail into
  tickets there, as the worker's job would a minute later).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from ticketbridge.services.mail import polling
from ticketbridge.services.mail.polling import PollResult
from ticketbridge.services.runtime import Runtime

log = logging.getLogger(__name__)
BUSY_RETRY_SECONDS = 5.0
Observer = Callable[[int, PollResult], None]


class PromptPoll:
    def __init__(
        self,
        runtime: Runtime,
        *,
        poll: Callable[[Runtime, int], PollResult] = polling.poll,
        after: Callable[[Runtime, PollResult], object] | None = None,
        observer: Observer | None = None,
        busy_retry_seconds: float = BUSY_RETRY_SECONDS,
    ) -> None:
        self.runtime = runtime
        self.observer = observer
        self._poll = poll
        self._after = after
        self._busy_retry = busy_retry_seconds
        self._state = threading.Condition()
        self._running: set[int] = set()
        self._again: set[int] = set()
        self._stopping = threading.Event()

    def kick(self, source_id: int) -> None:
        """Poll the source now (or once more after the poll under way)."""
        with self._state:
            if self._stopping.is_set():
                return
            if source_id in self._running:
                self._again.add(source_id)
                return
            self._running.add(source_id)
        threading.Thread(
            target=self._run, args=(source_id,), name=f"tb-mail-kick-{source_id}", daemon=True
        ).start()

    def settle(self, timeout: float) -> bool:
        """Wait until no poll is running or asked for (shutdown, tests); False on timeout."""
        with self._state:
            return self._state.wait_for(lambda: not self._running, timeout)

    def stop(self, timeout: float = 30.0) -> None:
        self._stopping.set()
        self.settle(timeout)

    def _run(self, source_id: int) -> None:
        try:
            while True:
                self._once(source_id)
                with self._state:
                    if source_id not in self._again or self._stopping.is_set():
                        return
                    self._again.discard(source_id)
        finally:
            with self._state:
                self._running.discard(source_id)
                self._again.discard(source_id)
                self._state.notify_all()

    def _once(self, source_id: int) -> None:
        try:
            result = self._poll(self.runtime, source_id)
            if not result.polled and not self._stopping.wait(self._busy_retry):
                result = self._poll(self.runtime, source_id)
            if result.stored and self._after is not None:
                self._after(self.runtime, result)
        except Exception:  # the periodic poll catches up; a hint never takes the receiver down
            log.exception("mail source %s: the poll after a notification failed", source_id)
            result = PollResult(source_id, polled=False, error="internal error")
        if self.observer is not None:
            self.observer(source_id, result)
