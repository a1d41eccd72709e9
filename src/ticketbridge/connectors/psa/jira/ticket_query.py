"""A sync's Jira side scoped by JQL (capability ``ticket_query``): the fragment is ANDed, in
parentheses, into the changed-since search, so Jira pages only the tickets in scope.

A fragment that would change the search rather than narrow it is refused: an ORDER BY (the
listing's order is the sync's), unbalanced parentheses or quotes (they would escape the
parentheses), control characters. Jira itself judges the rest at the first run: a JQL error
fails that run's listing with Jira's message, and the watermark stays.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from ticketbridge.connectors.psa.base import RemoteTicket

language = "JQL"
MAX_LENGTH = 1000
_ORDER_BY = re.compile(r"\border\s+by\b", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def problem(query: str) -> str | None:
    text = query.strip()
    if not text:
        return "an empty JQL fragment"
    if len(text) > MAX_LENGTH:
        return f"at most {MAX_LENGTH} characters of JQL"
    if _CONTROL.search(text):
        return "no control characters in JQL"
    if _ORDER_BY.search(_unquoted(text)):
        return "no ORDER BY: the sync orders its listing itself"
    if text.count('"') % 2 or _unquoted(text).count("'") % 2:
        return "an unclosed quote"
    depth = 0
    for char in _unquoted(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return "a closing parenthesis without its opening one"
    return "an unclosed parenthesis" if depth else None


def _unquoted(text: str) -> str:
    """The text without its double-quoted strings (their parentheses are values)."""
    return re.sub(r'"(?:[^"\\]|\\.)*"', '""', text)


def changed_since(connector: Any, since: datetime, query: str) -> list[RemoteTicket]:
    found: list[RemoteTicket] = connector.changed_since(since, jql=query.strip())
    return found


def changed_pages(connector: Any, since: datetime, query: str) -> Iterator[list[RemoteTicket]]:
    pages: Iterator[list[RemoteTicket]] = connector.changed_pages(since, jql=query.strip())
    return pages
