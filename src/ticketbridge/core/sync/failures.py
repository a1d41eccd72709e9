"""One item that fails never stops a run (issue 14, item 6).

A failed item (a validation error, a permission refused, a ticket deleted under the sync) is
recorded with its error and the number of attempts, and retried on a later run once its retry
time has come: the wait doubles with each attempt up to a cap, so a poisoned ticket costs a
request now and then, not one every run. The run goes on with the next item, and the
watermark moves past the failed one (watermarks.py): the retry queue brings it back, by id.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from ticketbridge.core.sync.sides import EntityKind, Side


@dataclass(frozen=True)
class BackoffPolicy:
    first_wait: timedelta = timedelta(minutes=5)
    max_wait: timedelta = timedelta(hours=6)
    factor: int = 2

    def __post_init__(self) -> None:
        if self.first_wait <= timedelta(0) or self.max_wait < self.first_wait:
            raise ValueError("waits must be positive and the cap at least the first wait")
        if self.factor < 1:
            raise ValueError("the factor must be at least 1")

    def wait_after(self, attempts: int) -> timedelta:
        """The wait after the ``attempts``-th failure in a row (1 for the first)."""
        if attempts < 1:
            raise ValueError("attempts start at 1")
        wait = self.first_wait
        # Doubling stops at the cap rather than computing factor**attempts for a large count.
        for _ in range(attempts - 1):
            wait = wait * self.factor
            if wait >= self.max_wait:
                return self.max_wait
        return min(wait, self.max_wait)


@dataclass(frozen=True)
class ItemFailure:
    kind: EntityKind
    side: Side
    item_id: str
    error: str
    attempts: int
    first_failed_at: datetime
    last_failed_at: datetime
    next_retry_at: datetime

    @property
    def key(self) -> tuple[EntityKind, Side, str]:
        return (self.kind, self.side, self.item_id)

    def is_due(self, now: datetime) -> bool:
        return self.next_retry_at <= now


def record_failure(
    previous: ItemFailure | None,
    *,
    kind: EntityKind,
    side: Side,
    item_id: str,
    error: str,
    now: datetime,
    policy: BackoffPolicy = BackoffPolicy(),
) -> ItemFailure:
    """The failure to store after the item failed at ``now`` (``previous``: its last one)."""
    if previous is not None and previous.key != (kind, side, item_id):
        raise ValueError("the previous failure is another item's")
    attempts = 1 if previous is None else previous.attempts + 1
    return ItemFailure(
        kind=kind,
        side=side,
        item_id=item_id,
        error=error,
        attempts=attempts,
        first_failed_at=now if previous is None else previous.first_failed_at,
        last_failed_at=now,
        next_retry_at=now + policy.wait_after(attempts),
    )


def due(failures: Iterable[ItemFailure], now: datetime) -> list[ItemFailure]:
    """The failures to retry in a run at ``now``, longest waiting first."""
    return sorted(
        (failure for failure in failures if failure.is_due(now)),
        key=lambda failure: (failure.next_retry_at, failure.item_id),
    )


def retries_not_in(
    due_failures: Iterable[ItemFailure], read_this_run: Iterable[Hashable]
) -> list[ItemFailure]:
    """Due retries the run's query did not already return (a failed item that changed again
    is read with the rest and must not be processed twice)."""
    read = set(read_this_run)
    return [failure for failure in due_failures if failure.item_id not in read]
