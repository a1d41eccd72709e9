"""Rules of the PSA request governor: request slots per endpoint, the hourly budget, priorities.

Autotask allows at most 3 requests in flight per tracking identifier and object endpoint
(reference §6, "API thread limiting"), and 10,000 requests per rolling hour for the whole
database, shared by every integration of the tenant. These functions decide, from plain
values, which waiting request goes next, whether a request of a priority may go at all, and
when the budget should be read again from ``ThresholdInformation``. No I/O, no threads:
``connectors/governor.py`` holds the state and enforces the decisions.

Priorities: a person waiting on an answer goes first (operator actions), then the round-trip
and sync jobs that keep tickets current, then background validation. When the hour's budget
runs low, background work stops first (at 80 % use), round-trip and sync next (90 %), and
operator actions go on until the hard limit, where Autotask itself refuses.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import IntEnum


class Priority(IntEnum):
    """Who waits on a request; a lower value goes first."""

    OPERATOR = 0  # a person waits: ticket actions, settings-page actions
    ROUNDTRIP = 1  # round-trip and sync jobs
    BACKGROUND = 2  # validation and other housekeeping


THREADS_PER_ENDPOINT = 3
DEFAULT_THRESHOLD = 10_000
DEFAULT_WINDOW_MINUTES = 60
# Share of the hour's budget below which a priority may still send.
CEILINGS = {Priority.OPERATOR: 1.0, Priority.ROUNDTRIP: 0.9, Priority.BACKGROUND: 0.8}
# Re-read ThresholdInformation after this many of our requests or this much time: our own
# count drifts (other integrations send, old requests leave the window) and a read is one
# request of 10,000.
READ_EVERY_REQUESTS = 100
READ_EVERY_SECONDS = 300.0
# While a request is being refused, the figure is re-read sooner, so a stale estimate does not
# hold work back for long; still at most once a minute.
READ_WHEN_REFUSING_SECONDS = 60.0
MIN_RETRY_AFTER = 60.0


@dataclass(frozen=True)
class Budget:
    """The hour's use as last read from Autotask, plus our own requests counted since.

    ``read_at`` is the clock time of the last read (or of the start, before any read).
    Before the first read (``known`` False) the estimate is our own count alone.
    """

    limit: int = DEFAULT_THRESHOLD
    window_minutes: int = DEFAULT_WINDOW_MINUTES
    used_at_read: int = 0
    read_at: float = 0.0
    ours_since_read: int = 0
    known: bool = False

    @property
    def used(self) -> int:
        return self.used_at_read + self.ours_since_read

    @property
    def share(self) -> float:
        return self.used / self.limit if self.limit > 0 else 1.0

    def counted(self, requests: int = 1) -> Budget:
        return replace(self, ours_since_read=self.ours_since_read + requests)

    def read(self, *, limit: int, window_minutes: int, used: int, at: float) -> Budget:
        """A fresh ThresholdInformation answer replaces the estimate."""
        return Budget(limit, window_minutes, used, at, 0, True)

    def carried(self, at: float) -> Budget:
        """The read failed: keep the estimate and restart the timers, so the next read is not
        attempted on every request."""
        return replace(self, used_at_read=self.used, ours_since_read=0, read_at=at)


@dataclass(frozen=True, order=True)
class Waiter:
    """A request waiting for a slot; ``seq`` is its place in arrival order."""

    priority: Priority
    seq: int


def next_to_go(
    waiting: Iterable[Waiter], in_flight: int, limit: int = THREADS_PER_ENDPOINT
) -> Waiter | None:
    """The waiting request that takes the next free slot of an endpoint, if a slot is free:
    the most urgent priority, and within it the first to arrive."""
    if in_flight >= limit:
        return None
    return min(waiting, default=None)


def may_send(budget: Budget, priority: Priority) -> bool:
    return budget.share < CEILINGS[priority]


def read_due(budget: Budget, now: float, *, refusing: bool = False) -> bool:
    """Whether to read ThresholdInformation before the next request."""
    age = now - budget.read_at
    if refusing and age >= READ_WHEN_REFUSING_SECONDS:
        return True
    return budget.ours_since_read >= READ_EVERY_REQUESTS or age >= READ_EVERY_SECONDS


def retry_after(budget: Budget, priority: Priority) -> float:
    """Seconds a refused request should wait: how long until use falls below the priority's
    ceiling if the hour's requests were spread evenly over the window (Autotask gives no
    distribution), and at least a minute."""
    ceiling = CEILINGS[priority]
    share = budget.share
    if share < ceiling:
        return 0.0
    window = budget.window_minutes * 60.0
    return max(MIN_RETRY_AFTER, window * (share - ceiling) / share)


def paused(budget: Budget) -> tuple[Priority, ...]:
    """The priorities the budget holds back now (for the gauge)."""
    return tuple(p for p in Priority if not may_send(budget, p))
