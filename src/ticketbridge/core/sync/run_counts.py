"""What a run did, counted (issue 14, item 6): a count row per run, per direction and kind.

Every item a run reads is seen once and ends in exactly one result. The accumulator is
immutable: ``record`` returns a new one, so a page's counts can be kept or dropped with the
page's transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from ticketbridge.core.sync.reference_map import ItemAction
from ticketbridge.core.sync.sides import Direction, EntityKind


class ItemResult(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    SKIPPED = "skipped"
    FLAGGED = "flagged"
    FAILED = "failed"


# What a decision carried out without an error counts as; every other action is a skip.
_RESULT_OF_ACTION = {
    ItemAction.CREATE: ItemResult.CREATED,
    ItemAction.UPDATE: ItemResult.UPDATED,
    ItemAction.FLAG: ItemResult.FLAGGED,
}


def result_of(action: ItemAction) -> ItemResult:
    """The result of a decision carried out without an error (a failure is FAILED instead)."""
    return _RESULT_OF_ACTION.get(action, ItemResult.SKIPPED)


@dataclass(frozen=True)
class EntityCounts:
    seen: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    flagged: int = 0
    failed: int = 0

    def plus(self, result: ItemResult) -> EntityCounts:
        changes = {"seen": self.seen + 1, result.value: getattr(self, result.value) + 1}
        return replace(self, **changes)

    def __add__(self, other: EntityCounts) -> EntityCounts:
        return EntityCounts(
            seen=self.seen + other.seen,
            created=self.created + other.created,
            updated=self.updated + other.updated,
            skipped=self.skipped + other.skipped,
            flagged=self.flagged + other.flagged,
            failed=self.failed + other.failed,
        )


@dataclass(frozen=True)
class RunCounts:
    by_direction: Mapping[tuple[Direction, EntityKind], EntityCounts] = field(default_factory=dict)

    def record(self, direction: Direction, kind: EntityKind, result: ItemResult) -> RunCounts:
        key = (direction, kind)
        counts = dict(self.by_direction)
        counts[key] = counts.get(key, EntityCounts()).plus(result)
        return RunCounts(counts)

    def of(self, direction: Direction, kind: EntityKind) -> EntityCounts:
        return self.by_direction.get((direction, kind), EntityCounts())

    def by_kind(self) -> dict[EntityKind, EntityCounts]:
        """Both directions together, per kind: the run row's figures."""
        totals: dict[EntityKind, EntityCounts] = {}
        for (_, kind), counts in self.by_direction.items():
            totals[kind] = totals.get(kind, EntityCounts()) + counts
        return totals

    def __add__(self, other: RunCounts) -> RunCounts:
        merged = dict(self.by_direction)
        for key, counts in other.by_direction.items():
            merged[key] = merged.get(key, EntityCounts()) + counts
        return RunCounts(merged)
