"""The connectors' expiring map: bounded, entries expiring by the injected clock."""

from __future__ import annotations

from ticketbridge.connectors.ttl_cache import TtlCache


def test_a_full_cache_lets_the_oldest_entry_go_first() -> None:
    cache: TtlCache[str, int] = TtlCache(60, clock=lambda: 0.0, max_items=2)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.put("a", 3)  # put again: now the newest
    cache.put("c", 4)

    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (3, None, 4)


def test_an_entry_kept_for_less_than_the_cache_ttl_expires_first() -> None:
    now = [0.0]
    cache: TtlCache[str, int] = TtlCache(600, clock=lambda: now[0])
    cache.put("found", 1)
    cache.put("missing", 0, ttl_seconds=120)

    now[0] = 120.5
    assert (cache.get("found"), cache.get("missing")) == (1, None)
    now[0] = 600.5
    assert cache.get("found") is None
