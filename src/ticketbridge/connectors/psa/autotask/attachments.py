"""A ticket's files in Autotask: the kind's ``attachments`` capability (an ``Attachments``,
connectors/psa/capabilities.py).

Reference §5.5 and the Swagger's TicketAttachments: files are written through the child route
``POST Tickets/{id}/Attachments`` with the bytes base64 in the JSON body
(``attachmentType`` FILE_ATTACHMENT, ``title``, ``fullPath``, ``publish``), which answers only
``{"itemId": N}``. They are listed with ``POST TicketAttachments/query`` naming every field but
``data``, so a listing never carries the files; ``GET Tickets/{id}/Attachments/{id}`` gives one
file with its bytes (wrapped as ``{"items": [...]}``, ``{"item": ...}`` or bare: §5.5 finds all
three, so all three are read).

Many tickets' files: one ``TicketAttachments`` query with ``ticketID in [...]`` per batch of
500 ids (Autotask's largest OR list), its pages of 500 followed through ``nextPageUrl`` with the
same body (§4.4); the tickets of the batch that came back without files are then asked for in
one ``Tickets`` ``id in`` query, so a deleted ticket is told from an empty one.

Limits (DOCS "REST API supportability"): 6-7 MB a file, refused here above 6 MiB before the
bytes are sent; 10,000,000 bytes per 5 minutes per database, after which Autotask blocks
attachment creation for 5 minutes (ConnectorUnavailable with ``retry_after``). Autotask says
"does not exist" for a missing ticket only as a generic 500, so a refused create and an empty
listing ask whether the ticket is still there (one more request, only then).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Any

from ticketbridge.connectors.errors import (
    ConnectorUnavailable,
    RemoteNotFound,
    RemoteRejected,
    RemoteTooLarge,
)
from ticketbridge.connectors.psa.autotask import picklists, query
from ticketbridge.connectors.psa.autotask.connector import AutotaskConnector
from ticketbridge.connectors.psa.base import PicklistValue
from ticketbridge.connectors.psa.capabilities import (
    AttachmentVisibility,
    RemoteAttachment,
    download_too_large,
)
from ticketbridge.connectors.psa.values import opt_int, utc_datetime

has_visibility = True
max_upload_bytes: int | None = 6 * 1024 * 1024
list_batch = query.MAX_OR_CONDITIONS

ENTITY = "TicketAttachments"
LIST_FIELDS = (
    "id",
    "ticketID",
    "title",
    "fullPath",
    "fileSize",
    "contentType",
    "attachDate",
    "publish",
    "attachmentType",
)
BLOCKED_SECONDS = 300.0
_TOO_LARGE = ("maximum file size", "exceeds the maximum")
_BLOCKED = ("upload threshold", "attachment creation is blocked")


def list_attachments(connector: AutotaskConnector, ticket_id: int) -> list[RemoteAttachment]:
    """The ticket's files (FILE_ATTACHMENT only: links carry no bytes), oldest first."""
    found = connector.client.query_all(
        ENTITY, [query.eq("ticketID", int(ticket_id))], include_fields=LIST_FIELDS
    )
    files = [item for item in found if item.get("attachmentType") in (None, "FILE_ATTACHMENT")]
    if not files:
        # An empty answer is also what a deleted ticket gives: say which it is.
        _require_ticket(connector, ticket_id)
    publish = _publish_values(connector)
    return sorted((_remote(item, ticket_id, publish) for item in files), key=lambda a: a.id)


def list_for_tickets(
    connector: AutotaskConnector, ticket_ids: Sequence[int]
) -> dict[int, list[RemoteAttachment]]:
    """The files of each ticket that exists, by ticket id; one query (and its pages) per 500
    tickets, plus one existence query for the tickets of a batch that have none."""
    listed: dict[int, list[RemoteAttachment]] = {}
    publish: tuple[PicklistValue, ...] | None = None
    for batch in query.batches((int(i) for i in ticket_ids), list_batch):
        wanted = set(batch)
        found = connector.client.query_all(
            ENTITY, [query.in_("ticketID", list(batch))], include_fields=LIST_FIELDS
        )
        by_ticket: dict[int, dict[int, RemoteAttachment]] = {}
        for item in found:
            if item.get("attachmentType") not in (None, "FILE_ATTACHMENT"):
                continue
            ticket_id = opt_int(item.get("ticketID"))
            if ticket_id is None or ticket_id not in wanted:
                continue
            publish = publish if publish is not None else _publish_values(connector)
            # Pages may overlap when files are added meanwhile: keyed by id.
            by_ticket.setdefault(ticket_id, {})[int(item["id"])] = _remote(item, ticket_id, publish)
        empty = [i for i in batch if i not in by_ticket]
        if empty:
            # An empty answer is also what a deleted ticket gives: keep only those that exist.
            there = connector.client.query_by_ids("Tickets", empty, include_fields=("id",))
            by_ticket |= {int(t["id"]): {} for t in there if opt_int(t.get("id")) in wanted}
        for ticket_id, files in by_ticket.items():
            listed[ticket_id] = sorted(files.values(), key=lambda a: a.id)
    return listed


def download(
    connector: AutotaskConnector, attachment: RemoteAttachment, *, max_bytes: int
) -> bytes:
    """The file's bytes. The listed size is checked first, so a file known to be too large is
    never fetched; the bytes are checked again once here."""
    if attachment.size > max_bytes:
        raise download_too_large(attachment.file_name, attachment.size, max_bytes)
    path = f"Tickets/{int(attachment.ticket_id)}/Attachments/{int(attachment.id)}"
    item = _single(connector.client.call("GET", path))
    if item is None:
        raise RemoteNotFound(f"Autotask has no attachment {attachment.id} on that ticket.")
    try:
        data = base64.b64decode(str(item.get("data") or ""), validate=True)
    except (binascii.Error, ValueError):
        raise ConnectorUnavailable("Autotask sent attachment data that is not base64.") from None
    if len(data) > max_bytes:
        raise download_too_large(attachment.file_name, len(data), max_bytes)
    return data


def add(
    connector: AutotaskConnector,
    ticket_id: int,
    *,
    file_name: str,
    content_type: str,
    data: bytes,
    internal: bool = False,
) -> RemoteAttachment:
    if not data:
        raise RemoteRejected(f"{file_name} is empty; Autotask takes no empty file.")
    if max_upload_bytes is not None and len(data) > max_upload_bytes:
        raise RemoteTooLarge(
            f"{file_name} is {len(data)} bytes, over Autotask's limit of {max_upload_bytes} "
            "bytes a file.",
            limit=max_upload_bytes,
        )
    publish_values = _publish_values(connector)
    publish = picklists.publish_value(publish_values, internal=internal)
    body = {
        "id": 0,
        "attachmentType": "FILE_ATTACHMENT",
        "title": file_name,
        "fullPath": file_name,
        "contentType": content_type or None,
        "publish": publish,
        "data": base64.b64encode(data).decode("ascii"),
    }
    try:
        attachment_id = connector.client.create(f"Tickets/{int(ticket_id)}/Attachments", body)
    except RemoteRejected as exc:
        raise _refusal(connector, ticket_id, exc) from exc
    return RemoteAttachment(
        id=attachment_id,
        ticket_id=int(ticket_id),
        file_name=file_name,
        size=len(data),
        content_type=content_type,
        created=None,  # the create answers only the id; a listing has the date
        visibility="internal" if internal else "all",
    )


def _refusal(connector: AutotaskConnector, ticket_id: int, exc: RemoteRejected) -> Exception:
    text = " ".join((exc.message, *exc.remote_messages)).casefold()
    if any(marker in text for marker in _TOO_LARGE):
        return RemoteTooLarge(exc.message, limit=max_upload_bytes, status_code=exc.status_code)
    if any(marker in text for marker in _BLOCKED):
        return ConnectorUnavailable(
            f"{exc.message} (Autotask's attachment volume limit)",
            retry_after=BLOCKED_SECONDS,
            unprocessed=True,
            status_code=exc.status_code,
        )
    _require_ticket(connector, ticket_id)
    return exc


def _require_ticket(connector: AutotaskConnector, ticket_id: int) -> None:
    found = connector.client.query_all(
        "Tickets", [query.eq("id", int(ticket_id))], include_fields=("id",)
    )
    if not any(True for _ in found):
        raise RemoteNotFound(f"Autotask ticket {ticket_id} does not exist (any more).")


def _publish_values(connector: AutotaskConnector) -> tuple[PicklistValue, ...]:
    return picklists.picklist(connector.client.fields(ENTITY), "publish")


def _visibility(value: Any, publish: tuple[PicklistValue, ...]) -> AttachmentVisibility | None:
    number = opt_int(value)
    if number is None:
        return None
    return "all" if number == picklists.publish_value(publish, internal=False) else "internal"


def _remote(
    item: dict[str, Any], ticket_id: int, publish: tuple[PicklistValue, ...]
) -> RemoteAttachment:
    return RemoteAttachment(
        id=int(item["id"]),
        ticket_id=opt_int(item.get("ticketID")) or int(ticket_id),
        file_name=_file_name(item),
        size=int(float(item.get("fileSize") or 0)),  # a double in the Swagger
        content_type=str(item.get("contentType") or "application/octet-stream"),
        created=utc_datetime(item.get("attachDate")),
        visibility=_visibility(item.get("publish"), publish),
    )


def _file_name(item: dict[str, Any]) -> str:
    # fullPath may be the uploader's whole path; the name is its last part.
    path = str(item.get("fullPath") or item.get("title") or "")
    name = path.replace("\\", "/").rsplit("/", 1)[-1].strip()
    return name or f"attachment-{item['id']}"


def _single(data: Any) -> dict[str, Any] | None:
    if isinstance(data, dict) and "items" in data:
        items = data["items"]
        data = items[0] if isinstance(items, list) and items else items
    elif isinstance(data, dict) and "item" in data:
        data = data["item"]
    return data if isinstance(data, dict) and data else None
