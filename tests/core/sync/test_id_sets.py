"""The ids a sync run keeps across pages: a set that is compact and says the same as a set."""

from __future__ import annotations

import random
import tracemalloc

from ticketbridge.core.sync import id_sets
from ticketbridge.core.sync.id_sets import IdSet


def test_it_answers_as_a_set_before_and_after_its_recent_ids_are_merged() -> None:
    picked = random.Random(14)
    added = [picked.randrange(-(2**40), 2**40) for _ in range(3 * id_sets.BUFFERED + 17)]
    added += added[:50]  # added twice: kept once
    ids, plain = IdSet(), set()
    for item in added:
        ids.add(item)
        plain.add(item)
    assert len(ids) == len(plain)
    assert all(item in ids for item in plain)
    assert not any(item in ids for item in (2**41, -(2**41), 0.5, "1"))
    assert list(ids) == sorted(plain)
    ids |= [5, 5, 6]
    assert 5 in ids and 6 in ids and len(ids) == len(plain | {5, 6})


def test_an_empty_set_holds_nothing() -> None:
    assert len(IdSet()) == 0 and 1 not in IdSet() and list(IdSet()) == []


def test_twenty_thousand_ids_take_a_fraction_of_a_sets_memory() -> None:
    numbers = range(10_000_000, 10_020_000)
    tracemalloc.start()
    try:
        ids = IdSet(numbers)
        compact = tracemalloc.get_traced_memory()[0]
        plain = set(numbers)
        both = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert len(ids) == len(plain)
    assert compact * 4 < both - compact  # about 8 bytes an id, against some 60 for a set
