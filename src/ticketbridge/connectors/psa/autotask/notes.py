"""A ticket's notes in Autotask, read back and edited: the kind's ``notes`` capability (a
``Notes``, connectors/psa/capabilities.py). ``AutotaskConnector.add_note`` writes new ones.

Reference §5.3: notes are written only through ``Tickets/{id}/Notes`` but read with
``POST TicketNotes/query``; a TicketNote has ``createDateTime`` and a ``lastActivityDate`` that
moves when the note is edited, so "changed since" is one ``lastActivityDate gt`` filter. Pages
hold at most 500 items and the next one is asked for with the same body (§4.4); a ticket id
list goes in ``ticketID in`` batches of 500 (Autotask refuses more OR conditions).

Requests: ``changed_since`` without ticket ids is one per 500 changed notes (at least one);
with ids, one per 500 changed notes of each batch of 500 tickets (at least one a batch).
``for_ticket`` is one per 500 notes, plus one to tell an empty ticket from a deleted one.
The TicketNotes field metadata (publish labels) is read once per process, as for add_note.

Edits: TicketNotes can be updated, through the same child route they are made by (Autotask's
TicketNotes entity page, read 2026-12-02: Can Update, and only as ``Tickets/{id}/Notes``):
``PATCH Tickets/{ticket}/Notes`` with the note's id, title and description and nothing else,
so its ``publish`` value, and so its visibility, stays as it is. The description comes back as
text only (Rich Text in it is lost on the write, as the page warns), the title is the text's
first line as add_note makes it. A missing note is the generic 500 "No matching records
found"; the note is then looked up to say RemoteNotFound. Requests: the PATCH and one query
reading the note back.

Visibility: publish 1 "All Autotask Users" is the customer-visible one; 2 "Internal Project
Team" (or "Internal Users") and 4 "Internal & Co-Managed" are internal, and so is any value
this tenant has that we cannot name.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from ticketbridge.connectors.errors import RemoteNotFound, RemoteRejected
from ticketbridge.connectors.psa.autotask import picklists, query
from ticketbridge.connectors.psa.autotask.connector import (
    DEFAULT_NOTE_LENGTH,
    NOTE_TITLE_LENGTH,
    AutotaskConnector,
)
from ticketbridge.connectors.psa.capabilities import NoteVisibility, RemoteNote
from ticketbridge.connectors.psa.values import opt_int, utc_datetime

ENTITY = "TicketNotes"
PAGE_SIZE = query.MAX_RECORDS
ticket_batch = query.MAX_OR_CONDITIONS
NOTE_FIELDS = (
    "id",
    "ticketID",
    "title",
    "description",
    "publish",
    "createDateTime",
    "lastActivityDate",
    "creatorResourceID",
    "createdByContactID",
)


def changed_since(
    connector: AutotaskConnector,
    since: datetime,
    ticket_ids: Sequence[int] | None = None,
    *,
    page_size: int | None = None,
) -> list[RemoteNote]:
    if since.tzinfo is None:
        raise ValueError("changed_since needs an aware datetime")
    stamp = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    changed = query.gt("lastActivityDate", stamp)
    if ticket_ids is None:
        filters = [[changed]]
    else:
        filters = [
            [changed, query.in_("ticketID", batch)]
            for batch in query.batches(ticket_ids, ticket_batch)
        ]
    found: list[dict[str, Any]] = []
    for batch_filters in filters:
        found.extend(_query(connector, batch_filters, page_size))
    notes = _notes(connector, found)
    # Guard against a remote comparing at coarser precision than ours.
    return [n for n in notes if n.updated is None or n.updated > since]


def for_ticket(
    connector: AutotaskConnector, ticket_id: int, *, page_size: int | None = None
) -> list[RemoteNote]:
    found = list(_query(connector, [query.eq("ticketID", int(ticket_id))], page_size))
    if not found:
        # An empty answer is also what a deleted ticket gives: say which it is.
        tickets = connector.client.query_all(
            "Tickets", [query.eq("id", int(ticket_id))], include_fields=("id",)
        )
        if not any(True for _ in tickets):
            raise RemoteNotFound(f"Autotask ticket {ticket_id} does not exist (any more).")
    return _notes(connector, found)


def update_note(
    connector: AutotaskConnector, ticket_id: int, note_id: int, text: str
) -> RemoteNote:
    limit = picklists.field_length(connector.client.fields(ENTITY), "description")
    title = (text.strip().splitlines() or ["Note"])[0][:NOTE_TITLE_LENGTH]
    body = {"id": int(note_id), "title": title, "description": text[: limit or DEFAULT_NOTE_LENGTH]}
    try:
        connector.client.update(f"Tickets/{int(ticket_id)}/Notes", body)
    except (RemoteRejected, RemoteNotFound):
        _note_of(connector, ticket_id, note_id)  # says RemoteNotFound when it is gone
        raise
    return _note_of(connector, ticket_id, note_id)


def _note_of(connector: AutotaskConnector, ticket_id: int, note_id: int) -> RemoteNote:
    found = _notes(
        connector,
        list(
            _query(
                connector,
                [query.eq("id", int(note_id)), query.eq("ticketID", int(ticket_id))],
                None,
            )
        ),
    )
    if not found:
        raise RemoteNotFound(
            f"Autotask note {note_id} on ticket {ticket_id} does not exist (any more)."
        )
    return found[0]


def _query(
    connector: AutotaskConnector, filters: list[query.Filter], page_size: int | None
) -> Iterable[dict[str, Any]]:
    return connector.client.query_all(
        ENTITY, filters, include_fields=NOTE_FIELDS, page_size=page_size or PAGE_SIZE
    )


def _notes(connector: AutotaskConnector, items: list[dict[str, Any]]) -> list[RemoteNote]:
    if not items:
        return []
    public = picklists.publish_value(
        picklists.picklist(connector.client.fields(ENTITY), "publish"), internal=False
    )
    notes = {int(item["id"]): _note(item, public) for item in items}  # pages may overlap
    return sorted(notes.values(), key=_order)


def _order(note: RemoteNote) -> tuple[datetime, int]:
    return (note.updated or note.created or datetime.min.replace(tzinfo=UTC), note.id)


def _note(item: dict[str, Any], public_value: int) -> RemoteNote:
    contact = opt_int(item.get("createdByContactID"))
    author = contact if contact is not None else opt_int(item.get("creatorResourceID"))
    visibility: NoteVisibility = (
        "public" if opt_int(item.get("publish")) == public_value else "internal"
    )
    return RemoteNote(
        id=int(item["id"]),
        ticket_id=int(item["ticketID"]),
        text=_text(item),
        visibility=visibility,
        author_id=None if author is None else str(author),
        author_name=None,  # Autotask names neither; resource names are the roundtrip's
        by_customer=contact is not None,
        created=utc_datetime(item.get("createDateTime")),
        updated=utc_datetime(item.get("lastActivityDate")),
    )


def _text(item: dict[str, Any]) -> str:
    """The description, with the title in front when the description does not already start
    with it (add_note's title is the first line of its text; a technician's may be more)."""
    title = str(item.get("title") or "").strip()
    description = str(item.get("description") or "")
    if title and not description.strip().startswith(title):
        return f"{title}\n\n{description}" if description else title
    return description
