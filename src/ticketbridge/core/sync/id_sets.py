"""The ids a sync run keeps across its pages: the tickets it read (each decided once, its files
looked at) and the copies it made (no notes or files on them yet).

A Python ``set`` of ints costs some 60 to 140 bytes an id (the int, and a hash table kept at
most two thirds full); a run over 100,000 tickets holds several such sets to its end. Here the
ids are kept sorted in an array of 8 bytes each, with the latest few in a set of bounded size
that is merged in when full, so what a run keeps is about 8 bytes a ticket.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from heapq import merge

# Ids added since the last merge: a merge walks the whole array, so a larger buffer means
# fewer merges, at a bounded cost in memory.
BUFFERED = 4_096


class IdSet:
    """A set of integer ids (signed 64-bit), compact: add, ``in``, len, iteration in order."""

    def __init__(self, ids: Iterable[int] = ()) -> None:
        self._sorted = array("q")
        self._recent: set[int] = set()
        self |= ids

    def add(self, item: int) -> None:
        if item in self:
            return
        self._recent.add(item)
        if len(self._recent) >= BUFFERED:
            self._merge()

    def __ior__(self, other: Iterable[int]) -> IdSet:
        for item in other:
            self.add(item)
        return self

    def __contains__(self, item: object) -> bool:
        if not isinstance(item, int):
            return False
        if item in self._recent:
            return True
        at = bisect_left(self._sorted, item)
        return at < len(self._sorted) and self._sorted[at] == item

    def __len__(self) -> int:
        return len(self._sorted) + len(self._recent)

    def __iter__(self) -> Iterator[int]:
        self._merge()
        return iter(self._sorted)

    def _merge(self) -> None:
        if self._recent:
            # Merged as they are read: no list of every id (some 36 bytes each) on the way.
            self._sorted = array("q", merge(self._sorted, sorted(self._recent)))
            self._recent = set()
