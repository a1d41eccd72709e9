"""The diff a dry run shows before a sync is enabled (issue 14, item 8).

From the actions a run would take, without taking them: how many items it would create, update,
link, skip or flag on each side, and a sample of the writes, a few per side and action, in the
order planned. The plan is read once and only the sample is kept, so a first run over years of
tickets needs no more memory than a small one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ticketbridge.core.sync.reference_map import ItemAction
from ticketbridge.core.sync.sides import EntityKind, Side

DEFAULT_SAMPLE_PER_GROUP = 5


@dataclass(frozen=True)
class PlannedAction:
    """One action a run would take; ``target`` is the side it would write on."""

    target: Side
    kind: EntityKind
    action: ItemAction
    source_id: str
    # What an operator recognises the item by: a ticket's title, a note's first words.
    label: str = ""


@dataclass(frozen=True)
class DryRunDiff:
    counts: Mapping[tuple[Side, EntityKind, ItemAction], int] = field(default_factory=dict)
    sample: tuple[PlannedAction, ...] = ()

    def count(self, target: Side, action: ItemAction, kind: EntityKind | None = None) -> int:
        """Planned actions on ``target``, of one kind or (None) all kinds."""
        return sum(
            number
            for (side, each_kind, each_action), number in self.counts.items()
            if side is target and each_action is action and kind in (None, each_kind)
        )

    @property
    def writes(self) -> int:
        return sum(number for (_, _, action), number in self.counts.items() if action.writes)


def diff(
    planned: Iterable[PlannedAction], *, sample_per_group: int = DEFAULT_SAMPLE_PER_GROUP
) -> DryRunDiff:
    """Counts of every planned action; a sample of up to ``sample_per_group`` writes for each
    target side, kind and action."""
    if sample_per_group < 0:
        raise ValueError("sample_per_group must not be negative")
    counts: dict[tuple[Side, EntityKind, ItemAction], int] = {}
    sample: list[PlannedAction] = []
    for action in planned:
        key = (action.target, action.kind, action.action)
        counts[key] = counts.get(key, 0) + 1
        if action.action.writes and counts[key] <= sample_per_group:
            sample.append(action)
    return DryRunDiff(counts, tuple(sample))
