"""Details read a page at a time, never a request per ticket (issue 14, item 2)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ticketbridge.core.sync.batching import (
    chunked,
    distinct_in_order,
    jql_in,
    pages,
    tickets_to_read,
)


def test_ids_split_into_pages_of_the_psa_maximum() -> None:
    split = list(pages(range(1, 1201), 500))
    assert [len(page) for page in split] == [500, 500, 200]
    assert split[0][0] == 1 and split[-1][-1] == 1200


def test_each_id_is_in_one_page_once() -> None:
    assert list(pages([3, 1, 3, 2, 1], 2)) == [(3, 1), (2,)]


def test_no_ids_means_no_pages_and_no_queries() -> None:
    assert list(pages([], 500)) == []


def test_a_page_size_below_one_is_refused() -> None:
    with pytest.raises(ValueError):
        list(pages([1], 0))


def test_tickets_of_changed_notes_are_read_with_the_changed_tickets_each_once() -> None:
    # 5,000 changed tickets and 20,000 changed notes on them and on 100 tickets that did not
    # otherwise change: 51 pages of 100, not 25,000 single reads.
    changed = range(5000)
    note_parents = [index % 5100 for index in range(20_000)] + list(range(5000, 5100))
    read = tickets_to_read(changed, note_parents, 100)
    assert len(read) == 51
    assert sorted(ticket for page in read for ticket in page) == list(range(5100))


def test_distinct_in_order_keeps_first_sightings() -> None:
    assert distinct_in_order(["b", "a"], ["a", "c", "b"]) == ["b", "a", "c"]


def test_jql_in_clause_for_ids_and_for_keys() -> None:
    assert jql_in("id", [10001, 10002]) == "id in (10001, 10002)"
    assert jql_in("key", ["OPS-1", "OPS-2"]) == 'key in ("OPS-1", "OPS-2")'


def test_jql_in_quotes_what_would_break_the_query() -> None:
    assert jql_in("key", ['A"B\\C']) == 'key in ("A\\"B\\\\C")'
    with pytest.raises(ValueError):
        jql_in("key) or (project", ["OPS-1"])
    with pytest.raises(ValueError):
        jql_in("key", [])


def test_a_listing_is_taken_a_chunk_at_a_time_only_as_each_is_asked_for() -> None:
    taken: list[int] = []

    def listing() -> Iterator[int]:
        for item in range(1, 6):
            taken.append(item)
            yield item

    chunks = chunked(listing(), 2)
    assert next(chunks) == [1, 2] and taken == [1, 2]
    assert list(chunks) == [[3, 4], [5]]
    with pytest.raises(ValueError):
        next(chunked([1], 0))
