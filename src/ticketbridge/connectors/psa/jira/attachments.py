"""A ticket's files in Jira: the kind's ``attachments`` capability (an ``Attachments``,
connectors/psa/capabilities.py).

Atlassian's "Add attachment" (reference jira-graph-sync.md §1.9):
``POST /rest/api/{2,3}/issue/{idOrKey}/attachments``, multipart with the part named ``file``
and the header ``X-Atlassian-Token: no-check`` (without it Jira answers 403 "XSRF check
failed"); the answer is the list of attachments made. A file over the instance's limit is
413. The issue's files are its ``attachment`` field (one ``GET issue/{id}?fields=attachment``).
Content: Cloud's ``GET attachment/content/{id}`` with ``redirect=false`` (otherwise a 303 to
the media service), Data Center's ``/secure/attachment/{id}/{file name}``.

Many issues' files: one JQL search ``id in (...)`` with ``fields=attachment`` per 100 ids (a
search page holds 100 issues when more than id and key are asked for): Cloud's
``POST search/jql`` paged by ``nextPageToken``, Data Center's ``POST search`` by offset. An
issue that no longer exists is simply not among the results; a Jira that refuses the whole JQL
for an unknown id is asked issue by issue for that batch only.

Jira attachments have no visibility of their own: a file is seen by everyone who can see the
issue (Jira Service Management shows it to the customer too). An internal file is therefore
refused, never attached where the customer could read it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from ticketbridge.connectors.errors import ConnectorUnavailable, RemoteNotFound, RemoteRejected
from ticketbridge.connectors.psa.capabilities import RemoteAttachment, download_too_large
from ticketbridge.connectors.psa.jira.client import PAGE_SIZE as SEARCH_PAGE_SIZE
from ticketbridge.connectors.psa.jira.connector import JiraConnector
from ticketbridge.connectors.psa.values import opt_int, utc_datetime

has_visibility = False
# The limit is the instance's (admin setting, GET attachment/meta); Jira answers 413 over it.
max_upload_bytes: int | None = None
list_batch = SEARCH_PAGE_SIZE

NO_VISIBILITY = (
    "Jira attachments have no visibility of their own: everyone who sees the issue sees the "
    "file, so an internal file was not attached."
)


def list_attachments(connector: JiraConnector, ticket_id: int) -> list[RemoteAttachment]:
    issue = connector.client.call("GET", f"issue/{int(ticket_id)}", params={"fields": "attachment"})
    return _files(issue, int(ticket_id))


def _files(issue: Any, ticket_id: int) -> list[RemoteAttachment]:
    fields = issue.get("fields") if isinstance(issue, dict) else None
    found = fields.get("attachment") if isinstance(fields, dict) else None
    files = [_remote(item, ticket_id) for item in found or [] if isinstance(item, dict)]
    return sorted(files, key=lambda a: a.id)


def list_for_tickets(
    connector: JiraConnector, ticket_ids: Sequence[int]
) -> dict[int, list[RemoteAttachment]]:
    """The files of each issue that exists, by issue id: one search per 100 issues."""
    wanted = list(dict.fromkeys(int(i) for i in ticket_ids))
    listed: dict[int, list[RemoteAttachment]] = {}
    for start in range(0, len(wanted), list_batch):
        batch = wanted[start : start + list_batch]
        jql = f"id in ({', '.join(map(str, batch))})"
        try:
            found = connector.client.search(jql, fields=("attachment",), page_size=list_batch)
            issues = list(found)
        except RemoteRejected:
            listed |= _one_by_one(connector, batch)
            continue
        for issue in issues:
            issue_id = opt_int(issue.get("id"))
            if issue_id is not None and issue_id in batch:
                listed[issue_id] = _files(issue, issue_id)
    return listed


def _one_by_one(connector: JiraConnector, batch: list[int]) -> dict[int, list[RemoteAttachment]]:
    listed: dict[int, list[RemoteAttachment]] = {}
    for issue_id in batch:
        try:
            listed[issue_id] = list_attachments(connector, issue_id)
        except RemoteNotFound:
            continue
    return listed


def download(connector: JiraConnector, attachment: RemoteAttachment, *, max_bytes: int) -> bytes:
    """The file's bytes; a file whose listed size is over ``max_bytes`` is never fetched."""
    if attachment.size > max_bytes:
        raise download_too_large(attachment.file_name, attachment.size, max_bytes)
    client = connector.client
    if client.cloud:
        url = f"{client.api}/attachment/content/{int(attachment.id)}?redirect=false"
    else:
        url = f"{client.base}/secure/attachment/{int(attachment.id)}/{quote(attachment.file_name)}"
    response = client.channel.request("GET", url, headers=client.headers)
    if 300 <= response.status_code < 400:
        raise ConnectorUnavailable(
            f"Jira redirected the download of {attachment.file_name} instead of sending it.",
            status_code=response.status_code,
        )
    if len(response.content) > max_bytes:
        raise download_too_large(attachment.file_name, len(response.content), max_bytes)
    return response.content


def add(
    connector: JiraConnector,
    ticket_id: int,
    *,
    file_name: str,
    content_type: str,
    data: bytes,
    internal: bool = False,
) -> RemoteAttachment:
    if internal:
        raise RemoteRejected(NO_VISIBILITY)
    if not data:
        # Jira stores an empty upload as a broken attachment (the jira package refuses it).
        raise RemoteRejected(f"{file_name} is empty; an empty file is not attached.")
    client = connector.client
    headers = {**client.headers, "X-Atlassian-Token": "no-check"}
    file = (file_name, data, content_type or "application/octet-stream")
    response = client.channel.request(
        "POST",
        f"{client.api}/issue/{int(ticket_id)}/attachments",
        headers=headers,
        files={"file": file},
    )
    try:
        made = response.json()
    except ValueError:
        made = None
    items = [item for item in made or [] if isinstance(item, dict)]
    if not isinstance(made, list) or not items:
        raise ConnectorUnavailable(f"Jira did not describe the attachment {file_name} it took.")
    return _remote(items[0], ticket_id)


def _remote(item: dict[str, Any], ticket_id: int) -> RemoteAttachment:
    return RemoteAttachment(
        id=int(item["id"]),
        ticket_id=int(ticket_id),
        file_name=str(item.get("filename") or f"attachment-{item['id']}"),
        size=int(item.get("size") or 0),
        content_type=str(item.get("mimeType") or "application/octet-stream"),
        created=utc_datetime(item.get("created")),
        visibility=None,
    )
