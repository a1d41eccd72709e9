"""Changed issues a page at a time (``PsaConnector.changed_pages``), for the sync, which
writes between pages: each search page is asked for when the one before it is done.

Ordered by creation, not by ``updated`` as ``changed_since`` is: Jira pages a search by
offset (``startAt``, and the emulator's ``nextPageToken``), and an issue updated while the
pages are read (by the sync's own write, or anyone's) would move to the end of an order by
``updated`` and shift every later issue one place back, so one would be skipped. An issue's
creation never moves; one made meanwhile comes at the end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

from ticketbridge.connectors.psa.base import RemoteTicket
from ticketbridge.connectors.psa.jira.client import PAGE_SIZE
from ticketbridge.core.sync.batching import chunked


def changed_pages(
    search: Callable[[str], Iterable[dict[str, Any]]],
    tickets: Callable[[list[dict[str, Any]]], list[RemoteTicket]],
    since: datetime,
    *,
    overlap: timedelta,
    jql: str | None = None,
) -> Iterator[list[RemoteTicket]]:
    """``search``: the connector's lazy search of one JQL; ``tickets``: its issues as tickets.
    ``overlap`` is taken off ``since`` in the JQL (its dates are compared to the minute) and
    the issues at or before ``since`` are then left out here."""
    if since.tzinfo is None:
        raise ValueError("changed_pages needs an aware datetime")
    start = int((since - overlap).timestamp() * 1000)
    scope = f"({jql}) AND " if jql else ""
    found = search(f"{scope}updated >= {start} ORDER BY created ASC, id ASC")
    for issues in chunked(found, PAGE_SIZE):
        yield [t for t in tickets(issues) if t.last_activity is None or t.last_activity > since]
