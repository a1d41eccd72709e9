"""The diff a dry run shows before a sync is enabled (issue 14, item 8).

From the actions a run would take, without taking them: how many items it would create, update,
link, skip or flag on each side, and a sample of the writes, a few per side and action, in the
order planned. Only the counts and the sample are kept as the plan is made (DryRunPlan), so a
first run over years of tickets needs no more memory than a small one.
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


Group = tuple[Side, EntityKind, ItemAction]


@dataclass
class DryRunPlan:
    """A dry run's plan as it is made: the count of every action and the first writes of each
    group, never the list of every action (a first run over years of tickets plans one per
    ticket, note and file). Each pass keeps its own; the run merges them in pass order."""

    sample_per_group: int = DEFAULT_SAMPLE_PER_GROUP
    counts: dict[Group, int] = field(default_factory=dict)
    sample: list[PlannedAction] = field(default_factory=list)
    _sampled: dict[Group, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.sample_per_group < 0:
            raise ValueError("sample_per_group must not be negative")

    def append(self, action: PlannedAction) -> None:
        key = (action.target, action.kind, action.action)
        self.counts[key] = self.counts.get(key, 0) + 1
        self._keep(key, action)

    def merge(self, later: DryRunPlan) -> None:
        """``later``'s actions, planned after these: its counts added, its sample (the first
        of each group in its order) kept where this one's groups have room."""
        for key, number in later.counts.items():
            self.counts[key] = self.counts.get(key, 0) + number
        for action in later.sample:
            self._keep((action.target, action.kind, action.action), action)

    def diff(self) -> DryRunDiff:
        return DryRunDiff(dict(self.counts), tuple(self.sample))

    def _keep(self, key: Group, action: PlannedAction) -> None:
        if action.action.writes and self._sampled.get(key, 0) < self.sample_per_group:
            self._sampled[key] = self._sampled.get(key, 0) + 1
            self.sample.append(action)


def diff(
    planned: Iterable[PlannedAction], *, sample_per_group: int = DEFAULT_SAMPLE_PER_GROUP
) -> DryRunDiff:
    """Counts of every planned action; a sample of up to ``sample_per_group`` writes for each
    target side, kind and action."""
    plan = DryRunPlan(sample_per_group)
    for action in planned:
        plan.append(action)
    return plan.diff()
