"""Who last changed an issue's synced fields, read from the changelog a search returns.

A search asked with ``expand=changelog`` gives each issue its ``changelog``: ``histories``
(each with ``author``, ``created`` and ``items`` naming a ``field``/``fieldId``) and
``startAt``, ``maxResults``, ``total``. Cloud's ``search/jql`` returns at most 40 histories an
issue (JRACLOUD-96459), the most recent ones (pycontribs/jira#911: older ones are the ones cut);
Data Center's ``search`` returns them all. So the author comes with the page of issues, not at
a request per issue (``issue/{id}/changelog``).

The author named is that of the latest history that changed a field the sync may carry
(summary, description, status, priority; labels, the reporter and the issue type where a sync's
entity switches carry categories, people and queues): an assignee or a component changed
afterwards says nothing about who wrote those, and a comment is no history at all. Cloud
names an account by ``accountId``, Data Center a user by ``key`` (``name`` where a key is
missing), as ``myself`` does (``updates.author_id``).

Nobody is named when that cannot be known for sure: no changelog, a history without an author
or a time, or a changelog cut short whose page does not reach the newest history. An unknown
author is never the sync's, so such a change is carried (see docs/sync.md, "Echoes by author").
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ticketbridge.connectors.psa.values import utc_datetime

# The issue fields the sync may carry, as the changelog names them.
SYNCED_FIELDS = frozenset(
    {"summary", "description", "status", "priority", "labels", "reporter", "issuetype"}
)
EXPAND = "changelog"


def account_of(user: Any) -> str | None:
    """A Jira user's id as ``myself`` and the changelog give it: Cloud's accountId, Data
    Center's key (or name)."""
    if not isinstance(user, dict):
        return None
    found = user.get("accountId") or user.get("key") or user.get("name")
    return str(found) if found else None


def last_change(issue: dict[str, Any]) -> tuple[str | None, datetime | None]:
    """(author, time) of the latest history that changed a synced field; (None, None) when
    the issue carries no changelog or it cannot say."""
    log = issue.get("changelog")
    if not isinstance(log, dict):
        return None, None
    histories = [h for h in log.get("histories") or [] if isinstance(h, dict)]
    if _cut_before_newest(log, len(histories)):
        return None, None
    latest: tuple[datetime, dict[str, Any]] | None = None
    for history in histories:
        when = utc_datetime(history.get("created"))
        if when is None or not _touches_synced_field(history):
            continue
        # Not the list's order: Jira does not promise one for histories.
        if latest is None or when >= latest[0]:
            latest = (when, history)
    if latest is None:
        return None, None
    author = account_of(latest[1].get("author"))
    return (author, latest[0]) if author else (None, None)


def _touches_synced_field(history: dict[str, Any]) -> bool:
    for item in history.get("items") or []:
        if not isinstance(item, dict):
            continue
        names = {str(item.get(key) or "").casefold() for key in ("fieldId", "field")}
        if names & SYNCED_FIELDS:
            return True
    return False


def _cut_before_newest(log: dict[str, Any], shown: int) -> bool:
    """Whether Jira left out histories newer than the ones it returned."""
    total, start = log.get("total"), log.get("startAt")
    if not isinstance(total, int) or total <= shown:
        return False
    return not isinstance(start, int) or start + shown < total
