"""Where each direction's next query for changes starts (issue 14, items 2 and 6).

A direction's watermark is the lower bound of its next "what changed since" query. After a run
it becomes the START time of that run minus an overlap, never its end: a change made while the
run was working, after its query had been answered, is then read again by the next run; the
overlap also covers the PSA's clock running behind ours and timestamps rounded to the minute
(JQL). Reading a change twice costs a skip (the content hash is unchanged); missing one loses it.

The first run reads from the sync's start date. A run that did not settle every item it read
(it stopped early, or the service checkpoints part-way) moves the watermark only up to the
earliest item still unsettled: an item settles when it succeeded or when its failure was
recorded for a retry (failures.py), so a recorded failure never holds the watermark back and an
item never reached is read again. A watermark never moves backwards.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

DEFAULT_OVERLAP = timedelta(minutes=5)


class ItemOutcome(StrEnum):
    SUCCEEDED = "succeeded"
    # The item failed and its failure was recorded with a retry time: it is settled, the retry
    # queue (not the watermark) brings it back.
    RECORDED_FAILED = "recorded_failed"
    # Read by the run's query but not processed (the run stopped before it).
    NOT_REACHED = "not_reached"

    @property
    def settled(self) -> bool:
        return self is not ItemOutcome.NOT_REACHED


@dataclass(frozen=True)
class ItemProgress:
    """One item the run's query returned: the PSA's own modification time and what became of it."""

    modified_at: datetime
    outcome: ItemOutcome


@dataclass
class ReadProgress:
    """What ``after_run`` needs of the items a run read, kept as the run goes: two times, not
    the items, so a run that reads a page at a time holds nothing per item for its watermark."""

    oldest_unsettled: datetime | None = None
    last_read: datetime | None = None

    def add(self, modified_at: datetime, outcome: ItemOutcome) -> None:
        if self.last_read is None or modified_at > self.last_read:
            self.last_read = modified_at
        unsettled = not outcome.settled
        if unsettled and (self.oldest_unsettled is None or modified_at < self.oldest_unsettled):
            self.oldest_unsettled = modified_at

    @classmethod
    def of(cls, items: Iterable[ItemProgress]) -> ReadProgress:
        progress = cls()
        for item in items:
            progress.add(item.modified_at, item.outcome)
        return progress


@dataclass(frozen=True)
class WatermarkPolicy:
    start_date: datetime
    overlap: timedelta = DEFAULT_OVERLAP

    def __post_init__(self) -> None:
        if self.start_date.tzinfo is None:
            raise ValueError("the start date must be timezone-aware")
        # With no overlap, a PSA that answers "strictly after" (Autotask's gt) would never
        # return a change made at the watermark's own instant.
        if self.overlap <= timedelta(0):
            raise ValueError("the overlap must be positive")

    def query_from(self, stored: datetime | None) -> datetime:
        """The lower bound of this run's query: the stored watermark, or the start date."""
        return self.start_date if stored is None else stored

    def after_run(
        self,
        stored: datetime | None,
        *,
        run_started_at: datetime,
        items: Iterable[ItemProgress] | ReadProgress,
        listing_complete: bool = True,
    ) -> datetime:
        """The watermark to store after a run that started at ``run_started_at``.

        ``items`` are those the run's query returned. ``listing_complete`` is False when the run
        stopped before it had read every page: the query is ordered by modification time, so
        nothing past the last item read is known to be settled.
        """
        if run_started_at.tzinfo is None:
            raise ValueError("run_started_at must be timezone-aware")
        previous = self.query_from(stored)
        read = items if isinstance(items, ReadProgress) else ReadProgress.of(items)
        bound = run_started_at
        if read.oldest_unsettled is not None:
            bound = min(bound, read.oldest_unsettled)
        if not listing_complete:
            if read.last_read is None:
                return previous
            bound = min(bound, read.last_read)
        return max(previous, bound - self.overlap)


def is_read_from(watermark: datetime, modified_at: datetime) -> bool:
    """Whether a query starting at ``watermark`` returns a change made at ``modified_at``.

    Taken as "at or after"; a PSA whose filter is "strictly after" loses nothing, because every
    stored watermark lies an overlap before the moment it protects.
    """
    return modified_at >= watermark
