"""Ids in pages the size of the PSA's largest ``in`` query (issue 14, item 2).

The seed's sync read every changed ticket again, one request each, and once more per note for
its files. Here the changed ids of a run are gathered first (tickets that changed, and the
tickets of notes that changed, which catches a comment on a ticket that did not otherwise
change), each ticket once, and read a page at a time: one Autotask ``id in [...]`` query or one
JQL ``id in (...)`` search per page.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator
from typing import TypeVar

IdT = TypeVar("IdT", bound=Hashable)
T = TypeVar("T")


def distinct_in_order(*groups: Iterable[IdT]) -> list[IdT]:
    """Every id once, in the order first seen across ``groups``."""
    return list(dict.fromkeys(item for group in groups for item in group))


def pages(ids: Iterable[IdT], page_size: int) -> Iterator[tuple[IdT, ...]]:
    """Distinct ids in pages of at most ``page_size``, in the order first seen."""
    if page_size < 1:
        raise ValueError("page_size must be at least 1")
    unique = distinct_in_order(ids)
    for start in range(0, len(unique), page_size):
        yield tuple(unique[start : start + page_size])


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """``items`` in lists of at most ``size``, each taken from ``items`` only when asked for: a
    listing read this way is held a page at a time, never whole."""
    if size < 1:
        raise ValueError("size must be at least 1")
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def tickets_to_read(
    changed_tickets: Iterable[IdT], parents_of_changed_notes: Iterable[IdT], page_size: int
) -> list[tuple[IdT, ...]]:
    """The pages of tickets a direction reads in one run: changed tickets first, then the
    tickets whose notes changed; a ticket in both is read once."""
    return list(pages(distinct_in_order(changed_tickets, parents_of_changed_notes), page_size))


def jql_in(field: str, values: Iterable[str | int]) -> str:
    """A JQL ``field in (...)`` clause for one page: ids as numbers, keys as quoted strings."""
    if not field.isidentifier():
        raise ValueError(f"not a JQL field name: {field!r}")
    items = [_jql_value(value) for value in values]
    if not items:
        raise ValueError("a JQL in clause needs at least one value")
    return f"{field} in ({', '.join(items)})"


def _jql_value(value: str | int) -> str:
    if isinstance(value, int):
        return str(value)
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
