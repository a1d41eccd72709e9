"""A mapped note edited since it was last synced: which side's text both notes take (issue 14,
items 3 and 7).

A note's text changed on one side only goes to the other. Changed on both sides since the last
sync, the note the PSA reports as modified later wins (at equal times, the side the note was
first made on) and the losing text is returned as a conflict for the conflict log, as for a
ticket's fields. Texts that already agree write nothing. A counterpart never changed since it
was made is not edited, even when its hash differs from the one recorded when it was copied
(how a PSA renders a note it was sent is no one's edit). With the opposite direction switched
off, the counterpart's edit is not carried back: the changed side wins.

An edit carries text only: visibility is never part of what is written, so an internal note is
never made public by an edit (the connectors keep the note's own publish value, restriction or
service desk flag).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ticketbridge.core.sync.conflicts import Conflict
from ticketbridge.core.sync.content_hash import normalize
from ticketbridge.core.sync.sides import Side

TEXT = "text"


@dataclass(frozen=True)
class NoteVersion:
    """One side's note as read now: its text without the sync's stamp, its content hash
    (text and visibility), the PSA's own modification time, and whether it was changed at all
    since it was made (False when the PSA's time of change is its time of creation)."""

    side: Side
    text: str
    content_hash: str
    modified_at: datetime
    edited: bool = True


@dataclass(frozen=True)
class NoteEdit:
    """The side whose text both take (None: they agree, nothing to write) and the conflict
    to log when both were edited."""

    winner: Side | None
    conflict: Conflict | None = None

    @property
    def writes_to(self) -> Side | None:
        return None if self.winner is None else self.winner.other


def resolve_edit(
    changed: NoteVersion,
    counterpart: NoteVersion,
    *,
    counterpart_synced_hash: str,
    origin: Side,
    both_ways: bool,
) -> NoteEdit:
    """``changed`` differs from its hash as last synced; ``counterpart`` is the other side's
    note, ``counterpart_synced_hash`` its hash in the reference-map entry."""
    if normalize(changed.text) == normalize(counterpart.text):
        return NoteEdit(None)
    # A note never changed since it was made was edited by no one, whatever its hash says.
    edited_there = (
        both_ways and counterpart.edited and counterpart.content_hash != counterpart_synced_hash
    )
    if not edited_there:
        return NoteEdit(changed.side)
    winner, loser = (changed, counterpart)
    if _later(counterpart, changed, origin):
        winner, loser = counterpart, changed
    conflict = Conflict(
        field=TEXT,
        winner=winner.side,
        winner_value=winner.text,
        loser_value=loser.text,
        winner_modified_at=winner.modified_at,
        loser_modified_at=loser.modified_at,
    )
    return NoteEdit(winner.side, conflict)


def _later(one: NoteVersion, other: NoteVersion, origin: Side) -> bool:
    if one.modified_at == other.modified_at:
        return one.side is origin
    return one.modified_at > other.modified_at
