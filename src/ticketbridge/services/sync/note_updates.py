"""A mapped note edited since it was last synced, brought to agreement on both sides (issue 14,
items 3, 4 and 7), through the kinds' ``Notes.update_note``.

Before a direction's notes are decided, the paired target tickets of its edited notes (a hash
other than the one last synced) are read whole: one ``changed_since`` from before any note per
``ticket_batch`` of tickets, so the counterpart of every edited note is at hand, or known gone.
``note_edits.resolve_edit`` then says which side's text both take: the edited side's; or, when
the counterpart was edited too, the note the PSA modified later, the other text going to the
conflict log. A note never edited since it was made (its PSA time of change is its time of
creation) counts as unchanged on that side: its hash as recorded at its copy's creation may
differ from how the PSA renders it, which is no edit of anyone's.

The written text keeps the sync's origin stamp: a copy is rewritten with its stamp, an original
without one. Visibility is never written (the connectors keep the note's own), so an edit never
makes an internal note public. A counterpart that is gone (missing from its ticket's notes, or
not found when written) is **flagged** for an operator: it is never deleted on the other side
nor made again.

Recorded as synced per side: the text written as the PSA holds it after the write, the other
side as it was read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from ticketbridge.connectors.errors import RemoteNotFound
from ticketbridge.connectors.psa.base import PsaConnector
from ticketbridge.connectors.psa.capabilities import Notes, RemoteNote
from ticketbridge.core.sync import batching
from ticketbridge.core.sync.note_edits import NoteVersion, resolve_edit
from ticketbridge.core.sync.run_counts import ItemResult
from ticketbridge.core.sync.sides import Direction, EntityKind, Side
from ticketbridge.services.sync import store
from ticketbridge.services.sync.note_stamps import note_hash, stamped, unstamped
from ticketbridge.storage.db import session_scope
from ticketbridge.storage.models.sync import SyncReference

NOTE = EntityKind.NOTE
# Before any note a PSA this sync reads holds: a ticket's notes changed since then are all of
# them, so a listing from here tells a note that is gone from one that did not change.
EVERY_NOTE = datetime(2000, 1, 1, tzinfo=UTC)


def never_edited(note: RemoteNote) -> bool:
    """Made and not changed since: the PSA's time of change is its time of creation."""
    return note.created is not None and note.updated is not None and note.updated <= note.created


def version(side: Side, note: RemoteNote) -> NoteVersion:
    text = unstamped(note.text)[0]
    return NoteVersion(
        side=side,
        text=text,
        content_hash=note_hash(text, note.visibility),
        modified_at=note.updated or note.created or EVERY_NOTE,
        edited=not never_edited(note),
    )


@dataclass
class NoteEdits:
    """The edits of one direction's mapped notes; ``connectors`` and ``notes`` by side."""

    factory: sessionmaker[Session]
    sync_id: int
    direction: Direction
    connectors: Mapping[Side, PsaConnector]
    notes: Mapping[Side, Notes]
    now: Callable[[], datetime]
    run_id: int | None = None
    # Whether the opposite direction is on: only then does the counterpart's edit go back.
    both_ways: bool = True
    # The target's notes on the tickets read, by note id; and those tickets.
    found: dict[str, RemoteNote] = field(default_factory=dict)
    tickets_read: set[str] = field(default_factory=set)

    @property
    def target(self) -> Side:
        return self.direction.target

    def read(self, target_tickets: Iterable[str]) -> None:
        """The whole note lists of ``target_tickets``, batched; a failure stops the pass."""
        wanted = [int(t) for t in batching.distinct_in_order(target_tickets)]
        connector, notes = self.connectors[self.target], self.notes[self.target]
        for page in batching.pages(wanted, notes.ticket_batch):
            for note in notes.changed_since(connector, EVERY_NOTE, page):
                self.found[str(note.id)] = note
        self.tickets_read.update(str(t) for t in wanted)

    def gone(self, row: SyncReference) -> bool:
        """Whether the entry's note on the target was missing from its ticket's notes."""
        return _id(row, self.target) not in self.found

    def apply(self, note: RemoteNote, row: SyncReference, target_ticket: int) -> ItemResult:
        """Bring the edited ``note`` (read on the direction's source) and its counterpart to
        one text; RemoteNotFound and ConnectorError of the writes are the caller's, but a
        counterpart found gone is flagged here."""
        source = self.direction.source
        counterpart = self.found.get(_id(row, self.target))
        if counterpart is None:
            return self.flag(row, self.target)
        mine, theirs = version(source, note), version(self.target, counterpart)
        if not mine.edited:
            # Its text as the PSA renders it, not an edit: recorded, nothing written.
            self._settle(row, {source: mine.content_hash})
            return ItemResult.SKIPPED
        edit = resolve_edit(
            mine,
            theirs,
            counterpart_synced_hash=_hash(row, self.target),
            origin=Side(row.origin),
            both_ways=self.both_ways,
        )
        if edit.conflict is not None:
            with session_scope(self.factory) as session:
                store.record_conflicts(
                    session,
                    self.sync_id,
                    self.run_id,
                    NOTE,
                    (row.a_id, row.b_id),
                    [edit.conflict],
                    self.now(),
                )
        hashes = {source: mine.content_hash, self.target: theirs.content_hash}
        side = edit.writes_to
        if side is not None:
            text = mine.text if side is self.target else theirs.text
            ticket = target_ticket if side is self.target else note.ticket_id
            try:
                after = self.notes[side].update_note(
                    self.connectors[side], ticket, int(_id(row, side)), self._text(text, side, row)
                )
            except RemoteNotFound:
                return self.flag(row, side)
            hashes[side] = version(side, after).content_hash
        self._settle(row, hashes)
        return ItemResult.SKIPPED if side is None else ItemResult.UPDATED

    def flag(self, row: SyncReference, side: Side) -> ItemResult:
        reason = f"note {_id(row, side)} is gone on side {side.upper()}; not propagated"
        with session_scope(self.factory) as session:
            stored = session.get(SyncReference, row.id)
            if stored is not None:
                stored.flagged, stored.flag_reason = True, reason[:300]
        return ItemResult.FLAGGED

    def _text(self, text: str, side: Side, row: SyncReference) -> str:
        """A copy keeps its origin stamp; the original stays as its author wrote it."""
        origin = Side(row.origin)
        if side is origin:
            return text
        return stamped(text, self.sync_id, origin, _id(row, origin))

    def _settle(self, row: SyncReference, hashes: Mapping[Side, str]) -> None:
        with session_scope(self.factory) as session:
            stored = session.get(SyncReference, row.id)
            if stored is None:
                return
            if Side.A in hashes:
                stored.a_hash = hashes[Side.A]
            if Side.B in hashes:
                stored.b_hash = hashes[Side.B]
            stored.last_synced = self.now()


def _id(row: SyncReference, side: Side) -> str:
    return row.a_id if side is Side.A else row.b_id


def _hash(row: SyncReference, side: Side) -> str:
    return row.a_hash if side is Side.A else row.b_hash
