"""The PSA request governor: one per PSA connection per process, shared by its connectors.

It enforces the rules of :mod:`ticketbridge.core.psa_governor` across threads: at most
``threads_per_endpoint`` requests in flight per endpoint with the rest queued by priority, and
the hour's budget gate. :class:`~ticketbridge.connectors.http.HttpChannel` holds a slot around
each attempt (through a connector's gate, which names the endpoint); the connector feeds the
budget from the PSA's own figure when :meth:`Governor.claim_read` says so.

A queued request waits at most its own timeout, then raises :class:`ConnectorUnavailable`;
it never hangs. A request that the budget holds back is refused at once, with
``retry_after``, without being sent: waiting for a rolling hour to drain would hold a worker
thread for minutes, while a refused job is simply rescheduled.

The limit is per process. Several worker processes each keep their own count, so Autotask
can still refuse a 4th request; that answer stays a retryable ``ConnectorUnavailable``.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from ticketbridge.connectors.errors import ConnectorUnavailable
from ticketbridge.core.psa_governor import (
    CEILINGS,
    THREADS_PER_ENDPOINT,
    Budget,
    Priority,
    Waiter,
    may_send,
    next_to_go,
    read_due,
    retry_after,
)


@dataclass(frozen=True)
class EndpointLoad:
    endpoint: str
    in_flight: int
    queued: int


@dataclass(frozen=True)
class GovernorState:
    """A consistent snapshot, for the gauge and for tests."""

    budget: Budget
    threads_per_endpoint: int
    endpoints: tuple[EndpointLoad, ...]
    read_age_seconds: float

    def load(self, endpoint: str) -> EndpointLoad:
        for found in self.endpoints:
            if found.endpoint == endpoint:
                return found
        return EndpointLoad(endpoint, 0, 0)


class Governor:
    def __init__(
        self,
        *,
        service: str = "Autotask",
        threads_per_endpoint: int = THREADS_PER_ENDPOINT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.service = service
        self.threads_per_endpoint = threads_per_endpoint
        # The budget's clock (read timers, and when the figure was read, for the gauge: so wall
        # time, in seconds). Waits for a slot use real monotonic time, as threads do.
        self.clock = clock
        self._cond = threading.Condition()
        self._in_flight: dict[str, int] = {}
        self._waiting: dict[str, list[Waiter]] = {}
        self._seq = itertools.count()
        self._budget = Budget(read_at=clock())
        self._reading = False

    # --- slots -----------------------------------------------------------------------------

    def acquire(
        self, endpoint: str, priority: Priority, *, wait: float, budgeted: bool = True
    ) -> None:
        """Take a slot of ``endpoint``, queueing behind more urgent and earlier requests.

        Raises :class:`ConnectorUnavailable` at once when the budget holds this priority back
        (``budgeted``), or after ``wait`` seconds without a slot. Counts the request."""
        with self._cond:
            if budgeted and not may_send(self._budget, priority):
                raise self._over_budget(priority)
            me = Waiter(priority, next(self._seq))
            queue = self._waiting.setdefault(endpoint, [])
            queue.append(me)
            self._cond.notify_all()
            deadline = time.monotonic() + max(0.0, wait)
            try:
                while next_to_go(queue, self._in_flight.get(endpoint, 0), self._limit) != me:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise ConnectorUnavailable(
                            f"{self.service}: the {self._limit} request slots for {endpoint} "
                            f"stayed busy for {wait:.0f} s ({len(queue) - 1} more requests "
                            "queued); nothing was sent."
                        )
                    self._cond.wait(remaining)
            finally:
                queue.remove(me)
                if not queue:
                    del self._waiting[endpoint]
                self._cond.notify_all()
            self._in_flight[endpoint] = self._in_flight.get(endpoint, 0) + 1
            self._budget = self._budget.counted()

    def release(self, endpoint: str) -> None:
        with self._cond:
            left = self._in_flight.get(endpoint, 0) - 1
            if left > 0:
                self._in_flight[endpoint] = left
            else:
                self._in_flight.pop(endpoint, None)
            self._cond.notify_all()

    @contextmanager
    def slot(
        self, endpoint: str, priority: Priority, *, wait: float, budgeted: bool = True
    ) -> Iterator[None]:
        self.acquire(endpoint, priority, wait=wait, budgeted=budgeted)
        try:
            yield
        finally:
            self.release(endpoint)

    @property
    def _limit(self) -> int:
        return self.threads_per_endpoint

    # --- budget ----------------------------------------------------------------------------

    def claim_read(self, priority: Priority) -> bool:
        """True when the caller should read the PSA's figure now (one caller at a time); it
        must then call :meth:`note_threshold` or :meth:`read_failed`."""
        with self._cond:
            if self._reading:
                return False
            refusing = not may_send(self._budget, priority)
            if not read_due(self._budget, self.clock(), refusing=refusing):
                return False
            self._reading = True
            return True

    def note_threshold(self, *, limit: int, window_minutes: int, used: int) -> None:
        with self._cond:
            now = self.clock()
            if limit > 0 and window_minutes > 0 and used >= 0:
                self._budget = self._budget.read(
                    limit=limit, window_minutes=window_minutes, used=used, at=now
                )
            else:
                self._budget = self._budget.carried(now)
            self._reading = False
            self._cond.notify_all()

    def read_failed(self) -> None:
        with self._cond:
            self._budget = self._budget.carried(self.clock())
            self._reading = False

    def _over_budget(self, priority: Priority) -> ConnectorUnavailable:
        budget = self._budget
        ceiling = CEILINGS[priority]
        return ConnectorUnavailable(
            f"{self.service}'s hourly request budget is {budget.share:.0%} used "
            f"({budget.used:,} of {budget.limit:,}); {priority.name.lower()} requests wait "
            f"until it is below {ceiling:.0%}.",
            retry_after=retry_after(budget, priority),
        )

    # --- observing -------------------------------------------------------------------------

    def state(self) -> GovernorState:
        with self._cond:
            return self._snapshot()

    def wait_for(self, predicate: Callable[[GovernorState], bool], timeout: float) -> bool:
        """Block until the state satisfies ``predicate`` (or ``timeout`` passes): lets tests
        and tools watch queues fill without polling."""
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self._snapshot()), timeout)

    def _snapshot(self) -> GovernorState:
        names = sorted(set(self._in_flight) | set(self._waiting))
        return GovernorState(
            budget=self._budget,
            threads_per_endpoint=self._limit,
            endpoints=tuple(
                EndpointLoad(n, self._in_flight.get(n, 0), len(self._waiting.get(n, ())))
                for n in names
            ),
            read_age_seconds=max(0.0, self.clock() - self._budget.read_at),
        )


class Governors:
    """One governor per connection (e.g. Autotask host, user and tracking identifier), made on
    first use; a changed connection gets a fresh budget instead of the old tenant's."""

    def __init__(self, factory: Callable[[], Governor] = Governor) -> None:
        self._factory = factory
        self._lock = threading.Lock()
        self._by_key: dict[Hashable, Governor] = {}

    def get(self, key: Hashable) -> Governor:
        with self._lock:
            found = self._by_key.get(key)
            if found is None:
                found = self._by_key[key] = self._factory()
            return found

    def peek(self, key: Hashable) -> Governor | None:
        with self._lock:
            return self._by_key.get(key)

    def all(self) -> list[Governor]:
        """Every connection's governor made so far in this process (the metrics gauge)."""
        with self._lock:
            return list(self._by_key.values())
