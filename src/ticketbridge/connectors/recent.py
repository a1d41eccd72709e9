"""A map a connector keeps what it learned of the items it just read in: used soon after (a
resolve reads an issue, then counts its worklogs; a new ticket's page needs its key), and kept
for the connector's life, which may be a sync run over many thousands of items. It keeps the
newest ``limit`` entries, the oldest going first, so it never grows with the items read."""

from __future__ import annotations

from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Recent(dict[K, V]):
    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        super().__init__()
        self.limit = limit

    def __setitem__(self, key: K, value: V) -> None:
        self.pop(key, None)  # set again, it is the newest
        super().__setitem__(key, value)
        if len(self) > self.limit:
            del self[next(iter(self))]
