"""A small expiring map the connectors keep what a PSA answered in: Autotask's zone and field
metadata, Jira's accounts by address. Time comes from an injected clock (tests move it, never
sleep); ``max_items`` bounds it, the oldest entry going first; an entry may expire sooner
than the map's ``ttl`` (a negative answer kept for less time than a found one). Thread-safe:
one map serves the connector instances of a process (services/runtime.py psa_cache)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    def __init__(
        self,
        ttl_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        *,
        max_items: int | None = None,
    ) -> None:
        self.ttl = ttl_seconds
        self.clock = clock
        self.max_items = max_items
        self._items: dict[K, tuple[float, V]] = {}  # key -> (expires at, value), oldest first
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            found = self._items.get(key)
            if found is None:
                return None
            expires_at, value = found
            if self.clock() > expires_at:
                del self._items[key]
                return None
            return value

    def put(self, key: K, value: V, *, ttl_seconds: float | None = None) -> None:
        """Keep ``value`` for ``ttl_seconds`` (the map's ttl when None)."""
        ttl = self.ttl if ttl_seconds is None else ttl_seconds
        with self._lock:
            self._items.pop(key, None)  # put again, it is the newest
            self._items[key] = (self.clock() + ttl, value)
            if self.max_items is not None and len(self._items) > self.max_items:
                now = self.clock()
                for old in [k for k, (at, _) in self._items.items() if now > at]:
                    del self._items[old]
                while len(self._items) > self.max_items:
                    del self._items[next(iter(self._items))]
