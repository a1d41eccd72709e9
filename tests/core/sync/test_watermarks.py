"""Watermarks per direction (issue 14, items 2 and 6)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ticketbridge.core.sync.watermarks import (
    ItemOutcome,
    ItemProgress,
    ReadProgress,
    WatermarkPolicy,
    is_read_from,
)

START_DATE = datetime(2026, 1, 1, tzinfo=UTC)
OVERLAP = timedelta(minutes=5)
POLICY = WatermarkPolicy(start_date=START_DATE, overlap=OVERLAP)
RUN_START = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return RUN_START + timedelta(minutes=minutes)


def done(minutes: int) -> ItemProgress:
    return ItemProgress(at(minutes), ItemOutcome.SUCCEEDED)


def test_first_run_reads_from_the_sync_start_date() -> None:
    assert POLICY.query_from(None) == START_DATE


def test_later_runs_read_from_the_stored_watermark() -> None:
    assert POLICY.query_from(at(-60)) == at(-60)


def test_after_a_clean_run_the_watermark_is_its_start_minus_the_overlap_not_its_end() -> None:
    items = [done(-30), done(-10), done(-1)]
    assert POLICY.after_run(at(-120), run_started_at=RUN_START, items=items) == at(-5)


def test_a_change_made_during_a_run_is_read_by_the_next_one() -> None:
    # The run's query was answered at 10:00; a human edits a ticket at 10:02 while the run is
    # still writing, and the run ends at 10:07. The next run must read the 10:02 change.
    edit_during_run = at(2)
    watermark = POLICY.after_run(None, run_started_at=RUN_START, items=[done(-3)])
    assert is_read_from(watermark, edit_during_run)


def test_the_overlap_catches_a_change_stamped_before_the_run_by_a_slow_psa_clock() -> None:
    # The PSA's clock runs three minutes behind ours: its record of an edit made just after the
    # query reads 09:57. Without the overlap the next run would miss it.
    stamped_by_psa = at(-3)
    watermark = POLICY.after_run(None, run_started_at=RUN_START, items=[])
    assert is_read_from(watermark, stamped_by_psa)
    without_overlap = WatermarkPolicy(START_DATE, overlap=timedelta(seconds=1)).after_run(
        None, run_started_at=RUN_START, items=[]
    )
    assert not is_read_from(without_overlap, stamped_by_psa)


def test_recorded_failures_do_not_hold_the_watermark_back() -> None:
    items = [done(-30), ItemProgress(at(-20), ItemOutcome.RECORDED_FAILED), done(-10)]
    assert POLICY.after_run(None, run_started_at=RUN_START, items=items) == at(-5)


def test_an_item_not_reached_keeps_the_watermark_before_it() -> None:
    not_reached = ItemProgress(at(-20), ItemOutcome.NOT_REACHED)
    items = [done(-30), not_reached, ItemProgress(at(-10), ItemOutcome.NOT_REACHED)]
    watermark = POLICY.after_run(at(-120), run_started_at=RUN_START, items=items)
    assert watermark < not_reached.modified_at
    assert is_read_from(watermark, not_reached.modified_at)
    assert watermark > at(-120)  # it still moved past what was settled before


def test_a_run_that_stopped_listing_moves_no_further_than_the_last_item_it_read() -> None:
    # Pages are ordered by modification time; page 2 never came, so items after 09:40 (and
    # any more at 09:40 itself) are unknown.
    items = [done(-50), done(-40)]
    watermark = POLICY.after_run(
        at(-120), run_started_at=RUN_START, items=items, listing_complete=False
    )
    assert is_read_from(watermark, at(-40))
    assert watermark < at(-40)


def test_a_run_that_read_nothing_before_it_stopped_keeps_the_watermark() -> None:
    stored = at(-120)
    assert (
        POLICY.after_run(stored, run_started_at=RUN_START, items=[], listing_complete=False)
        == stored
    )
    assert (
        POLICY.after_run(None, run_started_at=RUN_START, items=[], listing_complete=False)
        == START_DATE
    )


def test_two_times_kept_page_by_page_move_it_as_the_items_themselves_would() -> None:
    # A run reading a page at a time keeps the oldest unsettled and the latest read, not items.
    items = [
        done(-50),
        ItemProgress(at(-20), ItemOutcome.NOT_REACHED),
        ItemProgress(at(-30), ItemOutcome.RECORDED_FAILED),
        ItemProgress(at(-25), ItemOutcome.NOT_REACHED),
        done(-40),
    ]
    kept = ReadProgress()
    for item in items:
        kept.add(item.modified_at, item.outcome)
    assert (kept.oldest_unsettled, kept.last_read) == (at(-25), at(-20))
    for complete in (True, False):
        by_items = POLICY.after_run(
            at(-120), run_started_at=RUN_START, items=items, listing_complete=complete
        )
        by_times = POLICY.after_run(
            at(-120), run_started_at=RUN_START, items=kept, listing_complete=complete
        )
        assert by_times == by_items == at(-30)


def test_the_watermark_never_moves_backwards() -> None:
    stored = at(-2)
    retried_old_item = ItemProgress(at(-600), ItemOutcome.NOT_REACHED)
    assert POLICY.after_run(stored, run_started_at=RUN_START, items=[retried_old_item]) == stored


def test_the_overlap_must_be_positive_and_times_aware() -> None:
    with pytest.raises(ValueError):
        WatermarkPolicy(START_DATE, overlap=timedelta(0))
    with pytest.raises(ValueError):
        WatermarkPolicy(datetime(2026, 1, 1), overlap=OVERLAP)
    with pytest.raises(ValueError):
        POLICY.after_run(None, run_started_at=datetime(2026, 3, 1), items=[])
