"""The two sides and directions of a sync."""

from __future__ import annotations

from ticketbridge.core.sync.sides import Direction, Side, SyncIdentities


def test_each_side_has_the_other() -> None:
    assert Side.A.other is Side.B and Side.B.other is Side.A


def test_a_direction_reads_one_side_and_writes_the_other() -> None:
    assert (Direction.A_TO_B.source, Direction.A_TO_B.target) == (Side.A, Side.B)
    assert (Direction.B_TO_A.source, Direction.B_TO_A.target) == (Side.B, Side.A)
    assert Direction.from_source(Side.B) is Direction.B_TO_A


def test_identities_are_kept_per_side() -> None:
    ours = SyncIdentities(a=frozenset({"resource:1"}), b=frozenset({"account:x"}))
    assert ours.on(Side.A) == {"resource:1"} and ours.on(Side.B) == {"account:x"}
