"""What a connector keeps of the items it just read: the newest few, never all."""

from __future__ import annotations

import pytest

from ticketbridge.connectors.recent import Recent


def test_it_keeps_the_newest_entries_and_drops_the_oldest() -> None:
    kept: Recent[int, str] = Recent(3)
    for number in range(1, 6):
        kept[number] = f"OPS-{number}"
    assert dict(kept) == {3: "OPS-3", 4: "OPS-4", 5: "OPS-5"}


def test_an_entry_set_again_is_the_newest() -> None:
    kept: Recent[int, str] = Recent(2)
    kept[1], kept[2] = "a", "b"
    kept[1] = "a again"
    kept[3] = "c"
    assert dict(kept) == {1: "a again", 3: "c"}
    assert kept.pop(1) == "a again" and kept.get(1) is None


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError):
        Recent(0)
