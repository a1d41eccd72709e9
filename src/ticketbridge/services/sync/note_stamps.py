"""The origin stamp every note the sync writes ends with, ``[tbsync-<sync>-<side>-<note id>]``,
and a note's content hash (its text without the stamp, and its visibility): shared by the notes
pass (services/sync/notes.py) and the edits of mapped notes (services/sync/note_updates.py)."""

from __future__ import annotations

import re

from ticketbridge.core.sync.content_hash import content_hash
from ticketbridge.core.sync.sides import Side
from ticketbridge.services.sync.config import marker

_STAMP = re.compile(r"\s*\[(tbsync-[^\]\s]+)\]\s*$")


def stamped(text: str, sync_id: int, source: Side, note_id: str) -> str:
    """The text a copy is written with: the note, then its origin stamp on a line of its own."""
    return f"{text.rstrip()}\n\n[{marker(sync_id, source, note_id)}]"


def unstamped(text: str) -> tuple[str, str | None]:
    """The note's own text and its origin stamp's marker (None when it carries none)."""
    found = _STAMP.search(text)
    if found is None:
        return text, None
    return text[: found.start()], found.group(1)


def note_hash(text: str, visibility: str) -> str:
    return content_hash({"text": text, "visibility": visibility}, ("text", "visibility"))
