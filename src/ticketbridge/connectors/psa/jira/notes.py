"""An issue's comments, read back and edited: the Jira kind's ``notes`` capability (a
``Notes``, connectors/psa/capabilities.py). ``JiraConnector.add_note`` writes new ones.

Reference §1.6: ``GET issue/{id}/comment?startAt&maxResults&orderBy=created&expand=properties``
(offset paging; Cloud's largest page is 5,000). A comment is internal when it is restricted
(``visibility`` {type: role|group, value}) or is a service desk internal comment: ``jsdPublic``
false, or the ``sd.public.comment`` property ``{"internal": true}``. A comment that says neither
(``jsdPublic`` absent and no properties read) is taken as internal: a note is public only when
Jira says so.

Changed since: Jira has no "comments updated since" query, but a comment made or edited
raises ``jira:issue_updated`` and moves its issue's ``updated`` (§4 webhooks), so one JQL
``updated >= <epoch ms>`` (a minute early: JQL compares to the minute) with ``fields=comment``
finds the issues and brings their comments along. Requests: one per search page of 100 issues
(per batch of 100 ticket ids when ids are given), plus one comment listing for an issue whose
embedded comments are incomplete (``total`` above what came) or do not say ``jsdPublic``.
Asking each issue's comments instead would be one request per changed issue.

Edits: Atlassian's "Update comment", ``PUT issue/{id}/comment/{id}`` with ``body`` (ADF on
Cloud's v3, wiki text on Data Center's v2), answering the comment. ``visibility`` is optional
on update; the comment is read first (``GET`` with its properties, which is also where a gone
comment answers 404) and a restriction it has is sent back as it is, so an edit never lifts
one whatever a Jira version does with an absent field. A service desk comment's public flag
is not sent: it is not the edit's to change, and the comment keeps it. Requests: 2.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from ticketbridge.connectors.psa.capabilities import NoteVisibility, RemoteNote
from ticketbridge.connectors.psa.jira.client import PAGE_SIZE as SEARCH_PAGE_SIZE
from ticketbridge.connectors.psa.jira.connector import JQL_OVERLAP, JiraConnector
from ticketbridge.connectors.psa.jira.issues import adf, plain_text
from ticketbridge.connectors.psa.values import opt_int, utc_datetime

__all__ = [
    "changed_since",
    "for_ticket",
    "plain_text",
    "ticket_batch",
    "update_note",
    "visibility",
]

PAGE_SIZE = 5000
# One search page holds 100 issues, so 100 ids a JQL never needs a second page.
ticket_batch = SEARCH_PAGE_SIZE
INTERNAL_PROPERTY = "sd.public.comment"


def changed_since(
    connector: JiraConnector,
    since: datetime,
    ticket_ids: Sequence[int] | None = None,
    *,
    page_size: int | None = None,
) -> list[RemoteNote]:
    if since.tzinfo is None:
        raise ValueError("changed_since needs an aware datetime")
    start = int((since - JQL_OVERLAP).timestamp() * 1000)
    search_size = min(page_size or SEARCH_PAGE_SIZE, SEARCH_PAGE_SIZE)
    notes: list[RemoteNote] = []
    for clause in _id_clauses(ticket_ids, ticket_batch):
        jql = f"updated >= {start}{clause} ORDER BY updated ASC, id ASC"
        for issue in connector.client.search(jql, fields=("comment",), page_size=search_size):
            notes.extend(_issue_notes(connector, issue, page_size))
    changed = [n for n in notes if n.updated is not None and n.updated > since]
    return sorted(changed, key=_order)


def for_ticket(
    connector: JiraConnector, ticket_id: int, *, page_size: int | None = None
) -> list[RemoteNote]:
    """One request per page; a deleted issue answers 404 (RemoteNotFound)."""
    size = page_size or PAGE_SIZE
    notes: list[RemoteNote] = []
    start = 0
    while True:
        params = {
            "startAt": str(start),
            "maxResults": str(size),
            "orderBy": "created",
            "expand": "properties",
        }
        page = connector.client.call("GET", f"issue/{int(ticket_id)}/comment", params=params)
        found = [c for c in (page or {}).get("comments") or [] if isinstance(c, dict)]
        notes.extend(_note(c, int(ticket_id)) for c in found)
        start += len(found)
        total = opt_int((page or {}).get("total"))
        if not found or total is None or start >= total:
            return sorted(notes, key=_order)


def update_note(connector: JiraConnector, ticket_id: int, note_id: int, text: str) -> RemoteNote:
    path = f"issue/{int(ticket_id)}/comment/{int(note_id)}"
    before = connector.client.call("GET", path, params={"expand": "properties"}) or {}
    body: dict[str, Any] = {"body": adf(text) if connector.config.uses_adf else text}
    if before.get("visibility"):
        body["visibility"] = before["visibility"]
    after = connector.client.call("PUT", path, json=body) or {}
    # The answer need not carry what the edit left alone: the service desk flag and properties.
    kept = {k: before[k] for k in ("jsdPublic", "properties", "visibility") if k in before}
    return _note(kept | after, int(ticket_id))


def _id_clauses(ticket_ids: Sequence[int] | None, size: int) -> Iterator[str]:
    if ticket_ids is None:
        yield ""
        return
    unique = list(dict.fromkeys(int(i) for i in ticket_ids))
    for at in range(0, len(unique), size):
        yield f" AND id in ({', '.join(str(i) for i in unique[at : at + size])})"


def _issue_notes(
    connector: JiraConnector, issue: dict[str, Any], page_size: int | None
) -> list[RemoteNote]:
    issue_id = opt_int(issue.get("id"))
    if issue_id is None:
        return []
    field = (issue.get("fields") or {}).get("comment") or {}
    comments = [c for c in field.get("comments") or [] if isinstance(c, dict)]
    total = opt_int(field.get("total"))
    complete = total is None or total <= len(comments)
    if complete and all("jsdPublic" in c or "properties" in c for c in comments):
        return [_note(c, issue_id) for c in comments]
    return for_ticket(connector, issue_id, page_size=page_size)


def _order(note: RemoteNote) -> tuple[datetime, int]:
    return (note.updated or note.created or datetime.min.replace(tzinfo=UTC), note.id)


def visibility(comment: dict[str, Any]) -> NoteVisibility:
    if comment.get("visibility"):
        return "internal"
    for prop in comment.get("properties") or []:
        if not isinstance(prop, dict) or prop.get("key") != INTERNAL_PROPERTY:
            continue
        value = prop.get("value")
        if isinstance(value, dict) and value.get("internal") in (True, "true"):
            return "internal"
    public = comment.get("jsdPublic")
    if public is True or (public is None and "properties" in comment):
        return "public"
    return "internal"


def _note(comment: dict[str, Any], issue_id: int) -> RemoteNote:
    found = comment.get("author")
    author: dict[str, Any] = found if isinstance(found, dict) else {}
    author_id = author.get("accountId") or author.get("key") or author.get("name")
    return RemoteNote(
        id=int(comment["id"]),
        ticket_id=issue_id,
        text=plain_text(comment.get("body")),
        visibility=visibility(comment),
        author_id=None if author_id is None else str(author_id),
        author_name=author.get("displayName"),
        by_customer=author.get("accountType") == "customer",
        created=utc_datetime(comment.get("created")),
        updated=utc_datetime(comment.get("updated") or comment.get("created")),
    )
