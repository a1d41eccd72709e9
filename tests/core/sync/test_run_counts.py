"""Run counts per direction and kind (issue 14, item 6)."""

from __future__ import annotations

from ticketbridge.core.sync.reference_map import ItemAction
from ticketbridge.core.sync.run_counts import EntityCounts, ItemResult, RunCounts, result_of
from ticketbridge.core.sync.sides import Direction, EntityKind

A_TO_B = Direction.A_TO_B
B_TO_A = Direction.B_TO_A
TICKET = EntityKind.TICKET
NOTE = EntityKind.NOTE


def test_every_item_is_seen_once_and_counted_under_its_result() -> None:
    counts = RunCounts()
    for result in (ItemResult.CREATED, ItemResult.CREATED, ItemResult.FAILED, ItemResult.SKIPPED):
        counts = counts.record(A_TO_B, TICKET, result)
    assert counts.of(A_TO_B, TICKET) == EntityCounts(seen=4, created=2, skipped=1, failed=1)
    assert counts.of(B_TO_A, TICKET) == EntityCounts()


def test_recording_leaves_the_earlier_counts_as_they_were() -> None:
    before = RunCounts().record(A_TO_B, NOTE, ItemResult.UPDATED)
    before.record(A_TO_B, NOTE, ItemResult.UPDATED)
    assert before.of(A_TO_B, NOTE).updated == 1


def test_counts_per_kind_add_both_directions() -> None:
    counts = (
        RunCounts()
        .record(A_TO_B, TICKET, ItemResult.CREATED)
        .record(B_TO_A, TICKET, ItemResult.UPDATED)
        .record(B_TO_A, NOTE, ItemResult.FLAGGED)
    )
    totals = counts.by_kind()
    assert totals[TICKET] == EntityCounts(seen=2, created=1, updated=1)
    assert totals[NOTE] == EntityCounts(seen=1, flagged=1)


def test_page_counts_merge_into_the_run() -> None:
    page_one = RunCounts().record(A_TO_B, TICKET, ItemResult.CREATED)
    page_two = RunCounts().record(A_TO_B, TICKET, ItemResult.FAILED)
    assert (page_one + page_two).of(A_TO_B, TICKET) == EntityCounts(seen=2, created=1, failed=1)


def test_each_decision_has_its_result() -> None:
    assert result_of(ItemAction.CREATE) is ItemResult.CREATED
    assert result_of(ItemAction.UPDATE) is ItemResult.UPDATED
    assert result_of(ItemAction.FLAG) is ItemResult.FLAGGED
    for skip in (
        ItemAction.LINK,
        ItemAction.SKIP_SYNCED,
        ItemAction.SKIP_ECHO,
        ItemAction.SKIP_FLAGGED,
    ):
        assert result_of(skip) is ItemResult.SKIPPED
