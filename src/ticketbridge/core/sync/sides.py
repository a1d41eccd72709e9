"""The two sides of a sync, its two directions and the kinds of item it carries.

A sync pairs two connections; which one is side A is fixed when the sync is made, so every
stored id, hash and watermark says which side it belongs to without naming a PSA kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Side(StrEnum):
    A = "a"
    B = "b"

    @property
    def other(self) -> Side:
        return Side.B if self is Side.A else Side.A


class Direction(StrEnum):
    """A direction is named by where its changes are read and where they are written."""

    A_TO_B = "a_to_b"
    B_TO_A = "b_to_a"

    @property
    def source(self) -> Side:
        return Side.A if self is Direction.A_TO_B else Side.B

    @property
    def target(self) -> Side:
        return self.source.other

    @staticmethod
    def from_source(side: Side) -> Direction:
        return Direction.A_TO_B if side is Side.A else Direction.B_TO_A


class EntityKind(StrEnum):
    TICKET = "ticket"
    NOTE = "note"
    ATTACHMENT = "attachment"


@dataclass(frozen=True)
class SyncIdentities:
    """Who the sync itself is on each side: Autotask's excluded resource and our API user, Jira's
    account id. A change whose only authors are in here is the sync's own write coming back."""

    a: frozenset[str] = frozenset()
    b: frozenset[str] = frozenset()

    def on(self, side: Side) -> frozenset[str]:
        return self.a if side is Side.A else self.b
