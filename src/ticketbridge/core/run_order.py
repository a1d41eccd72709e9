"""How Run Checks orders runs and jobs, the cursors that page through them, and the grace
period within which a review can be taken back.

Worst first is the review order (issue 11): Failed, Error, Missed, Warning, then a report we
could not classify, then Success; inside one status the run that has waited longest comes
first. A page is found by a cursor on the sort key (rank, time, id), never by an offset, so the
last page of a million runs costs what the first does.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from ticketbridge.core.statuses import WORST_FIRST, RunStatus

# The review queue's ranks: the severity order itself, so that the queue, its chips and the
# Dashboard can never disagree on what is worse.
QUEUE_ORDER = WORST_FIRST
_RANK = {status: rank for rank, status in enumerate(QUEUE_ORDER)}


def queue_rank(status: RunStatus | str) -> int:
    """0 for the worst status; what the review queue sorts on first."""
    return _RANK[RunStatus(status)]


class Sort(StrEnum):
    WORST = "worst"  # worst status first, then the oldest
    NEWEST = "newest"
    OLDEST = "oldest"

    @property
    def label(self) -> str:
        return {"worst": "Worst first", "newest": "Newest first", "oldest": "Oldest first"}[
            self.value
        ]

    @property
    def by_status(self) -> bool:
        return self is Sort.WORST

    @property
    def ascending(self) -> bool:
        """Whether time (and id) rise down the page."""
        return self is not Sort.NEWEST


@dataclass(frozen=True, order=True)
class SortKey:
    """Where a row stands in a list: rank (0 unless sorting by status), time, id. For a job
    row, time and id are the job's (its oldest or newest waiting run, and the job id)."""

    rank: int
    at: datetime
    id: int


class InvalidCursor(ValueError):
    pass


class Direction(StrEnum):
    AFTER = "a"  # the page after the key (Next)
    BEFORE = "b"  # the page before it (Previous)


@dataclass(frozen=True)
class Cursor:
    kind: str  # "runs" or "jobs": what the key belongs to
    sort: Sort
    direction: Direction
    key: SortKey


LAST = "last"  # the cursor of the last page, whatever it holds
_KINDS = ("runs", "jobs")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def encode_cursor(cursor: Cursor) -> str:
    micros = (cursor.key.at - _EPOCH) // timedelta(microseconds=1)
    raw = (
        f"{cursor.kind}.{cursor.sort.value}.{cursor.direction.value}."
        f"{cursor.key.rank}.{micros}.{cursor.key.id}"
    )
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(text: str) -> Cursor:
    """The cursor a page link carries; anything else is refused (never a 500)."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("ascii")
        kind, sort, direction, rank, micros, row_id = raw.split(".")
        if kind not in _KINDS or not 0 <= int(rank) < len(QUEUE_ORDER):
            raise ValueError(raw)
        at = _EPOCH + timedelta(microseconds=int(micros))
        if not 0 < int(row_id) < 2**31 or not 1970 <= at.year <= 2100:
            raise ValueError(raw)
        return Cursor(kind, Sort(sort), Direction(direction), SortKey(int(rank), at, int(row_id)))
    except (ValueError, UnicodeError, binascii.Error, OverflowError) as exc:
        raise InvalidCursor("cursor is not one this page gave out") from exc


def may_undo_review(
    *,
    reviewed_at: datetime | None,
    reviewed_by: str | None,
    actor: str,
    is_admin: bool,
    now: datetime,
    grace: timedelta,
) -> bool:
    """A review can be taken back by whoever made it, or an admin, until the grace period is
    over: long enough to catch a slip, short enough that the queue's history stays put."""
    if reviewed_at is None or grace <= timedelta(0):
        return False
    if not is_admin and reviewed_by != actor:
        return False
    return now - reviewed_at <= grace
