"""The reference map's decisions: create, update, link, skip, echo, flag (issue 14, item 3)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from ticketbridge.core.sync.reference_map import (
    ItemAction,
    ReferenceEntry,
    SideRecord,
    SourceItem,
    decide,
)
from ticketbridge.core.sync.sides import EntityKind, Side, SyncIdentities

NOW = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
AUTOTASK_API_USER = "resource:29682885"
JIRA_SYNC_ACCOUNT = "account:5b10ac8d82e05b22cc7d4ef5"
OURS = SyncIdentities(a=frozenset({AUTOTASK_API_USER}), b=frozenset({JIRA_SYNC_ACCOUNT}))
HUMAN_A = "resource:30001"
HUMAN_B = "account:alice"


def item(
    id: str = "a1",
    *,
    side: Side = Side.A,
    content: str = "h1",
    by: frozenset[str] = frozenset({HUMAN_A}),
    kind: EntityKind = EntityKind.TICKET,
    origin_marker: str | None = None,
    deleted: bool = False,
) -> SourceItem:
    return SourceItem(
        kind, side, id, NOW, content, changed_by=by, origin_marker=origin_marker, deleted=deleted
    )


def entry(a_hash: str = "h1", b_hash: str = "h1b", *, flagged: bool = False) -> ReferenceEntry:
    return ReferenceEntry(
        EntityKind.TICKET,
        SideRecord("a1", a_hash),
        SideRecord("b1", b_hash),
        Side.A,
        NOW,
        flagged=flagged,
    )


def test_an_item_without_an_entry_is_created_on_the_other_side() -> None:
    decision = decide(item(), None, ours=OURS)
    assert decision.action is ItemAction.CREATE
    assert decision.target_id is None


def test_an_item_whose_hash_is_the_one_last_synced_is_skipped() -> None:
    decision = decide(item(content="h1"), entry(a_hash="h1"), ours=OURS)
    assert decision.action is ItemAction.SKIP_SYNCED
    assert decision.target_id == "b1"


def test_a_changed_item_updates_its_counterpart() -> None:
    decision = decide(item(content="h2"), entry(a_hash="h1"), ours=OURS)
    assert decision.action is ItemAction.UPDATE
    assert decision.target_id == "b1"


def test_a_change_made_only_by_the_sync_is_an_echo_and_not_sent_back() -> None:
    jira_copy = item("b1", side=Side.B, content="h-normalised", by=frozenset({JIRA_SYNC_ACCOUNT}))
    decision = decide(jira_copy, entry(b_hash="h1b"), ours=OURS)
    assert decision.action is ItemAction.SKIP_ECHO


def test_our_identity_counts_only_on_its_own_side() -> None:
    # The Jira account id means nothing on Autotask: a change there by that id is not ours.
    odd = item(content="h2", by=frozenset({JIRA_SYNC_ACCOUNT}))
    assert decide(odd, entry(), ours=OURS).action is ItemAction.UPDATE


def test_a_change_by_a_person_and_the_sync_together_is_sent() -> None:
    both = item("b1", side=Side.B, content="h2", by=frozenset({JIRA_SYNC_ACCOUNT, HUMAN_B}))
    assert decide(both, entry(), ours=OURS).action is ItemAction.UPDATE


def test_an_unknown_author_is_never_taken_for_the_sync() -> None:
    unknown = item(content="h2", by=frozenset())
    assert decide(unknown, entry(), ours=OURS).action is ItemAction.UPDATE
    assert decide(item(by=frozenset()), None, ours=OURS).action is ItemAction.CREATE


def test_an_unmapped_item_made_by_the_sync_is_not_copied_back() -> None:
    made_by_us = item("b9", side=Side.B, by=frozenset({JIRA_SYNC_ACCOUNT}))
    assert decide(made_by_us, None, ours=OURS).action is ItemAction.SKIP_ECHO


def test_an_item_carrying_the_sync_origin_marker_is_linked_not_copied() -> None:
    copy = item("b2", side=Side.B, by=frozenset({JIRA_SYNC_ACCOUNT}), origin_marker="a2")
    decision = decide(copy, None, ours=OURS)
    assert decision.action is ItemAction.LINK
    assert decision.target_id == "a2"


def test_a_source_item_whose_copy_was_found_by_its_marker_is_linked() -> None:
    decision = decide(item("a2"), None, ours=OURS, marked_copy="b2")
    assert (decision.action, decision.target_id) == (ItemAction.LINK, "b2")


def test_a_deleted_item_is_flagged_never_propagated() -> None:
    decision = decide(item(deleted=True), entry(), ours=OURS)
    assert decision.action is ItemAction.FLAG
    assert not decision.action.writes
    assert "side A" in decision.reason


def test_a_deleted_counterpart_is_flagged_never_recreated() -> None:
    decision = decide(item(content="h2"), entry(), ours=OURS, counterpart_missing=True)
    assert decision.action is ItemAction.FLAG
    assert "side B" in decision.reason


def test_a_flagged_entry_waits_for_an_operator() -> None:
    decision = decide(item(content="h2"), entry(flagged=True), ours=OURS)
    assert decision.action is ItemAction.SKIP_FLAGGED


def test_a_deletion_without_an_entry_is_a_caller_error() -> None:
    with pytest.raises(ValueError):
        decide(item(deleted=True), None, ours=OURS)


def test_an_entry_for_another_item_or_kind_is_refused() -> None:
    with pytest.raises(ValueError):
        decide(item("a7"), entry(), ours=OURS)
    with pytest.raises(ValueError):
        decide(item(kind=EntityKind.NOTE), entry(), ours=OURS)


class TwoSides:
    """Just enough of two PSAs and a reference map to play runs through the decisions."""

    def __init__(self) -> None:
        self.items: dict[Side, dict[str, SourceItem]] = {Side.A: {}, Side.B: {}}
        self.entries: dict[tuple[Side, str], ReferenceEntry] = {}
        self.writes = 0

    def human_makes(self, side: Side, id: str, content: str) -> None:
        by = HUMAN_A if side is Side.A else HUMAN_B
        self.items[side][id] = item(id, side=side, content=content, by=frozenset({by}))

    def sync_writes(self, side: Side, id: str, content: str, made_from: str) -> None:
        """The sync's own write; the target normalises the text, so its hash differs."""
        self.writes += 1
        self.items[side][id] = item(
            id,
            side=side,
            content=content + "-as-stored",
            by=OURS.on(side),
            origin_marker=made_from,
        )

    def map(self, source: SourceItem, target_id: str) -> None:
        target = self.items[source.side.other][target_id]
        records = {
            source.side: SideRecord(source.id, source.content_hash),
            target.side: SideRecord(target.id, target.content_hash),
        }
        made = ReferenceEntry(EntityKind.TICKET, records[Side.A], records[Side.B], source.side, NOW)
        self.entries[(Side.A, made.a.id)] = made
        self.entries[(Side.B, made.b.id)] = made

    def run(self, source: Side, *, crash_before_mapping: str | None = None) -> list[ItemAction]:
        actions = []
        for each in list(self.items[source].values()):
            found = self.entries.get((source, each.id))
            marked = next(
                (
                    other.id
                    for other in self.items[source.other].values()
                    if other.origin_marker == each.id
                ),
                None,
            )
            decision = decide(each, found, ours=OURS, marked_copy=marked if not found else None)
            actions.append(decision.action)
            if decision.action is ItemAction.CREATE:
                new_id = f"{source.other}-{each.id}"
                self.sync_writes(source.other, new_id, each.content_hash, made_from=each.id)
                if each.id == crash_before_mapping:
                    raise RuntimeError("crash between the write and the reference map commit")
                self.map(each, new_id)
            elif decision.action is ItemAction.LINK:
                assert decision.target_id is not None
                self.map(each, decision.target_id)
        return actions


def test_an_echo_never_loops_over_many_runs() -> None:
    psas = TwoSides()
    psas.human_makes(Side.A, "a1", "printer down")
    psas.human_makes(Side.B, "b1", "vpn slow")
    psas.run(Side.A)
    psas.run(Side.B)
    # The PSA rewrites the copy under the sync's own account (Jira renders the text anew):
    # its hash changes, but its only author is the sync.
    copy = psas.items[Side.B]["b-a1"]
    psas.items[Side.B]["b-a1"] = replace(copy, content_hash="rewritten", modified_at=NOW)
    actions = []
    for _ in range(3):
        actions += psas.run(Side.A) + psas.run(Side.B)
    assert ItemAction.SKIP_ECHO in actions
    assert not any(action.writes for action in actions)
    assert psas.writes == 2  # each ticket copied once, nothing sent back
    assert len(psas.items[Side.A]) == 2 and len(psas.items[Side.B]) == 2


def test_a_crash_between_write_and_mapping_then_a_rerun_duplicates_nothing() -> None:
    psas = TwoSides()
    for number in (1, 2, 3):
        psas.human_makes(Side.A, f"a{number}", f"ticket {number}")
    with pytest.raises(RuntimeError):
        psas.run(Side.A, crash_before_mapping="a2")
    assert psas.writes == 2  # a1 mapped, a2 written but not mapped, a3 not reached

    actions = psas.run(Side.A)
    assert actions == [ItemAction.SKIP_SYNCED, ItemAction.LINK, ItemAction.CREATE]
    assert psas.writes == 3
    assert len(psas.items[Side.B]) == 3
    assert psas.run(Side.B) == [ItemAction.SKIP_SYNCED] * 3
