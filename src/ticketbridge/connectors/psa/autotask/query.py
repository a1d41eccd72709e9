"""Autotask query bodies, ``in`` batching and paging.

- Every query is ``POST /V1.0/{Entity}/query`` with a QueryModel body; a filter is mandatory,
  so "everything" is ``id gte 0`` (reference §4.2).
- An ``in`` list counts as one OR condition per value and Autotask refuses more than 500, so
  long lists are split into batches of at most 500 (one request each).
- Paging follows ``pageDetails.nextPageUrl`` with the SAME method and body as the first page: a
  GET on a next-page URL of a POST query is answered 405 (reference §4.4).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from ticketbridge.connectors.errors import ConnectorError

MAX_OR_CONDITIONS = 500
MAX_RECORDS = 500
# A guard against a remote that hands back the same page forever.
MAX_PAGES = 10_000

Filter = dict[str, Any]
# (method, path or absolute URL, json body) -> decoded JSON response
Send = Callable[[str, str, dict[str, Any]], Any]


def eq(field: str, value: Any) -> Filter:
    return {"op": "eq", "field": field, "value": value}


def udf_eq(name: str, value: Any) -> Filter:
    """A user-defined field; Autotask takes one per query (reference §4.2)."""
    return {"op": "eq", "field": name, "udf": True, "value": value}


def gt(field: str, value: Any) -> Filter:
    return {"op": "gt", "field": field, "value": value}


def gte(field: str, value: Any) -> Filter:
    return {"op": "gte", "field": field, "value": value}


def contains(field: str, value: str) -> Filter:
    return {"op": "contains", "field": field, "value": value}


def in_(field: str, values: Sequence[Any]) -> Filter:
    if len(values) > MAX_OR_CONDITIONS:
        raise ValueError(f"an 'in' filter holds at most {MAX_OR_CONDITIONS} values")
    return {"op": "in", "field": field, "value": list(values)}


EVERYTHING: Filter = gte("id", 0)


def batches(values: Iterable[int], size: int = MAX_OR_CONDITIONS) -> Iterator[list[int]]:
    """Distinct values in first-seen order, ``size`` at a time."""
    unique = list(dict.fromkeys(values))
    for start in range(0, len(unique), size):
        yield unique[start : start + size]


def query_body(
    filters: Sequence[Filter],
    *,
    include_fields: Sequence[str] | None = None,
    max_records: int | None = None,
) -> dict[str, Any]:
    if max_records is not None and not 1 <= max_records <= MAX_RECORDS:
        raise ValueError(f"max_records must be between 1 and {MAX_RECORDS}")
    body: dict[str, Any] = {"filter": list(filters) or [EVERYTHING]}
    if include_fields:
        body["includeFields"] = list(include_fields)
    if max_records is not None:
        body["maxRecords"] = max_records
    return body


def first_page(send: Send, entity: str, body: dict[str, Any]) -> tuple[list[Any], str | None]:
    """One page: its items and the next page's URL (None on the last page)."""
    data = send("POST", f"{entity}/query", body)
    return _items(data), _next_url(data)


def iter_items(send: Send, entity: str, body: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every item of a query, page after page."""
    items, next_url = first_page(send, entity, body)
    yield from items
    seen: set[str] = set()
    while next_url:
        if next_url in seen or len(seen) >= MAX_PAGES:
            raise ConnectorError("Autotask kept returning the same page of results.")
        seen.add(next_url)
        data = send("POST", next_url, body)
        yield from _items(data)
        next_url = _next_url(data)


def _items(data: Any) -> list[dict[str, Any]]:
    items = data.get("items") if isinstance(data, dict) else None
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def _next_url(data: Any) -> str | None:
    details = data.get("pageDetails") if isinstance(data, dict) else None
    url = details.get("nextPageUrl") if isinstance(details, dict) else None
    return url if isinstance(url, str) and url else None
