"""One direction of a sync run for notes: the source side's notes changed since the direction's
note watermark, on the tickets the reference map pairs, each to the paired ticket on the other
side with its visibility kept (core/sync/note_visibility, reference_map).

Reads are batched by the notes capability: one ``changed_since`` per ``ticket_batch`` of mapped
tickets, each batch decided and written before the next is read (memory holds one); when some
notes have no entry, one more per batch on the target finds a copy written by a run that crashed
before its reference was stored (the copy carries the origin stamp), so it is linked, not
written twice. A failed note whose retry is due is read back with its ticket's notes (one
request per such ticket).

Every note the sync writes ends with its origin stamp, ``[tbsync-<sync>-<side>-<note id>]``:
read back on the other side, a stamped note is the sync's own and is never sent back (its
entry makes it ``skip_synced``; without one it is linked). Content hashes cover the text
without the stamp and the visibility.

An internal note is written internal or not at all: a target that cannot hold one (a Jira
project that is no service desk and has no restriction role or group configured) refuses the
write, and the note fails as an item with that reason.

A mapped note whose text changed is an edit: its counterpart is updated, or, edited on both
sides, the later edit wins and the other is logged as a conflict; a counterpart that is gone is
flagged, never deleted nor made again (services/sync/note_updates.py).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from ticketbridge.connectors import registry
from ticketbridge.connectors.errors import ConnectorConfigError, ConnectorError, RemoteNotFound
from ticketbridge.connectors.psa.base import PsaConnector
from ticketbridge.connectors.psa.capabilities import Notes, RemoteNote
from ticketbridge.core.sync import batching, failures
from ticketbridge.core.sync.dry_run import PlannedAction
from ticketbridge.core.sync.note_visibility import NoteAction, NoteTarget, Visibility, plan_note
from ticketbridge.core.sync.reference_map import ItemAction, SourceItem, decide
from ticketbridge.core.sync.run_counts import ItemResult, result_of
from ticketbridge.core.sync.sides import Direction, EntityKind, Side, SyncIdentities
from ticketbridge.core.sync.watermarks import ItemOutcome, WatermarkPolicy
from ticketbridge.services.sync import items, store
from ticketbridge.services.sync.config import origin_of
from ticketbridge.services.sync.note_stamps import note_hash, stamped, unstamped
from ticketbridge.services.sync.note_updates import NoteEdits
from ticketbridge.services.sync.tickets import DirectionOutcome
from ticketbridge.storage.db import session_scope
from ticketbridge.storage.models.sync import SyncReference

NOTE = EntityKind.NOTE
__all__ = ["NotesRun", "failure_key", "note_hash", "run_direction", "stamped", "unstamped"]


def failure_key(note: RemoteNote) -> str:
    """A failed note is kept as ``<ticket id>/<note id>``: its retry reads its ticket's notes."""
    return f"{note.ticket_id}/{note.id}"


@dataclass(frozen=True)
class NoteSides:
    source: PsaConnector
    target: PsaConnector
    source_notes: Notes
    target_notes: Notes


@dataclass
class NotesRun:
    factory: sessionmaker[Session]
    sync_id: int
    direction: Direction
    sides: NoteSides
    now: Callable[[], datetime]
    dry_run: bool = False
    outcome: DirectionOutcome = field(default_factory=DirectionOutcome)
    # Target tickets this run made: they hold no copy of any note yet, so are not searched.
    made: Collection[int] = ()
    run_id: int | None = None  # the run row conflicts are logged under
    # Whether the opposite direction is on: only then does the target's edit of a note go back.
    both_ways: bool = True
    edits: NoteEdits = field(init=False)

    def __post_init__(self) -> None:
        sides = {self.source_side: self.sides.source, self.target_side: self.sides.target}
        notes = {
            self.source_side: self.sides.source_notes,
            self.target_side: self.sides.target_notes,
        }
        self.edits = NoteEdits(
            self.factory,
            self.sync_id,
            self.direction,
            sides,
            notes,
            self.now,
            run_id=self.run_id,
            both_ways=self.both_ways,
        )

    @property
    def source_side(self) -> Side:
        return self.direction.source

    @property
    def target_side(self) -> Side:
        return self.direction.target

    def run(self, since: datetime) -> DirectionOutcome:
        """A page of pairs at a time (the source's ``ticket_batch``): their notes changed, their
        entries and marked copies, the decisions and writes, then the next page; then the
        failed notes due that no page returned."""
        index = 0 if self.source_side is Side.A else 1
        source, notes = self.sides.source, self.sides.source_notes
        with self.factory() as session:
            failed = store.failures(session, self.sync_id, NOTE, self.source_side)
        listed_failed: set[str] = set()  # failed notes a page returned again: not retried
        for pairs in items.mapped_pages(self.factory, self.sync_id, notes.ticket_batch):
            paired = {pair[index]: pair[1 - index] for pair in pairs}
            changed = notes.changed_since(source, since, [int(i) for i in paired])
            changed.sort(key=lambda n: (n.updated or since, n.id))
            listed_failed |= {key for n in changed if (key := failure_key(n)) in failed}
            self._page(since, paired, [(n, True) for n in changed], failed)
        retried = self._retries(failed, listed_failed)
        if retried:
            tickets = {str(n.ticket_id) for n in retried}
            paired = items.paired_with(self.factory, self.sync_id, self.source_side, tickets)
            self._page(since, paired, [(n, False) for n in retried], failed)
        return self.outcome

    def _page(
        self,
        since: datetime,
        paired: dict[str, str],
        read: list[tuple[RemoteNote, bool]],
        failed: dict[str, failures.ItemFailure],
    ) -> None:
        with self.factory() as session:
            entries = store.references(
                session, self.sync_id, NOTE, self.source_side, [str(n.id) for n, _ in read]
            )
        marked = self._marked_copies(
            since, paired, [n for n, _ in read if str(n.id) not in entries]
        )
        self.edits.read(
            paired[str(n.ticket_id)] for n, _ in read if self._edited(n, entries, paired)
        )
        for note, listed in read:
            outcome = self._one(note, paired, entries, marked, failure_key(note) in failed)
            if listed:
                self.outcome.progress.add(note.updated or since, outcome)

    def _retries(
        self, failed: dict[str, failures.ItemFailure], read: Collection[str]
    ) -> list[RemoteNote]:
        due = failures.retries_not_in(failures.due(failed.values(), self.now()), read)
        keys = {failure.item_id for failure in due}
        found: list[RemoteNote] = []
        for ticket_id in batching.distinct_in_order(k.split("/")[0] for k in keys):
            try:
                notes = self.sides.source_notes.for_ticket(self.sides.source, int(ticket_id))
            except RemoteNotFound:
                notes = []  # the ticket is gone: the tickets pass flags it, nothing to retry
            found += [n for n in notes if failure_key(n) in keys]
        gone = keys - {failure_key(n) for n in found}
        if not self.dry_run:
            for key in gone:
                items.clear(self.factory, self.sync_id, NOTE, self.source_side, key)
        return found

    def _marked_copies(
        self, since: datetime, paired: dict[str, str], unmapped: list[RemoteNote]
    ) -> dict[str, RemoteNote]:
        """Copies on the target that carry the stamp of a note without an entry, by its id."""
        tickets = [
            int(paired[str(n.ticket_id)])
            for n in unmapped
            if str(n.ticket_id) in paired and int(paired[str(n.ticket_id)]) not in self.made
        ]
        if not tickets:
            return {}
        found: dict[str, RemoteNote] = {}
        target, notes = self.sides.target, self.sides.target_notes
        for page in batching.pages(tickets, notes.ticket_batch):
            for copy in notes.changed_since(target, since, page):
                origin = origin_of(self.sync_id, self.target_side, unstamped(copy.text)[1])
                if origin is not None:
                    found.setdefault(origin, copy)
        return found

    def _edited(
        self, note: RemoteNote, entries: dict[str, SyncReference], paired: dict[str, str]
    ) -> bool:
        """A mapped note whose hash is not the one last synced on its side, on a paired ticket."""
        row = entries.get(str(note.id))
        if row is None or row.flagged or str(note.ticket_id) not in paired:
            return False
        synced = row.a_hash if self.source_side is Side.A else row.b_hash
        return note_hash(unstamped(note.text)[0], note.visibility) != synced

    def _one(
        self,
        note: RemoteNote,
        paired: dict[str, str],
        entries: dict[str, SyncReference],
        marked: dict[str, RemoteNote],
        had_failed: bool,
    ) -> ItemOutcome:
        text, stamp = unstamped(note.text)
        note_id = str(note.id)
        row = entries.get(note_id)
        copy = marked.get(note_id)
        item = SourceItem(
            kind=NOTE,
            side=self.source_side,
            id=note_id,
            modified_at=note.updated or self.now(),
            content_hash=note_hash(text, note.visibility),
            # Stamped: this note is the sync's copy of that note on the other side.
            origin_marker=origin_of(self.sync_id, self.source_side, stamp),
        )
        decision = decide(
            item,
            store.entry_of(row) if row is not None else None,
            ours=SyncIdentities(),
            marked_copy=str(copy.id) if copy is not None else None,
        )
        action = decision.action
        target_ticket = paired.get(str(note.ticket_id))
        if target_ticket is None:
            self._count(ItemResult.SKIPPED)  # its ticket is no longer paired
            return ItemOutcome.SUCCEEDED
        if self.dry_run:
            label = text.strip().splitlines()[0][:80] if text.strip() else "(empty note)"
            if action is ItemAction.UPDATE and row is not None and self.edits.gone(row):
                action = ItemAction.FLAG
            self.outcome.planned.append(
                PlannedAction(self.target_side, NOTE, action, note_id, label)
            )
            self._count(result_of(action))
            return ItemOutcome.SUCCEEDED
        try:
            if action is ItemAction.UPDATE and row is not None:
                result = self.edits.apply(note, row, int(target_ticket))
            else:
                result = self._apply(
                    action, note, text, item.content_hash, decision.target_id, int(target_ticket)
                )
        except (ConnectorError, NoteRefused) as exc:
            self._fail(note, str(exc))
            return ItemOutcome.RECORDED_FAILED
        if had_failed:
            items.clear(self.factory, self.sync_id, NOTE, self.source_side, failure_key(note))
        self._count(result)
        return ItemOutcome.SUCCEEDED

    def _apply(
        self,
        action: ItemAction,
        note: RemoteNote,
        text: str,
        hashed: str,
        target_id: str | None,
        target_ticket: int,
    ) -> ItemResult:
        note_id = str(note.id)
        item_stamped = unstamped(note.text)[1] is not None
        if action is ItemAction.CREATE:
            plan = plan_note(Visibility(note.visibility), NoteTarget(internal=True))
            if plan.refused:
                raise NoteRefused(plan.reason)
            made = self.sides.target.add_note(
                target_ticket,
                stamped(text, self.sync_id, self.source_side, note_id),
                internal=plan.action is NoteAction.WRITE_INTERNAL,
            )
            self._link(note_id, str(made), hashed, origin=self.source_side)
        elif action is ItemAction.LINK and target_id is not None:
            with self.factory() as session:
                taken = store.references(session, self.sync_id, NOTE, self.target_side, [target_id])
            if taken:
                return ItemResult.SKIPPED  # its original is paired already: an echo
            # A stamped note is the copy (made from the target side); else the copy is there.
            origin = self.target_side if item_stamped else self.source_side
            self._link(note_id, target_id, hashed, origin=origin)
        return result_of(action)

    def _link(self, note_id: str, other_id: str, hashed: str, *, origin: Side) -> None:
        ids = (note_id, other_id) if self.source_side is Side.A else (other_id, note_id)
        items.link(
            self.factory, self.sync_id, NOTE, ids, (hashed, hashed), origin=origin, now=self.now()
        )

    def _fail(self, note: RemoteNote, error: str) -> None:
        key = failure_key(note)
        items.fail(self.factory, self.sync_id, NOTE, self.source_side, key, error, self.now())
        self.outcome.errors.append(self._error(note, error, "failed"))
        self._count(ItemResult.FAILED)

    def _error(self, note: RemoteNote, error: str, result: str) -> dict[str, str]:
        item = f"{self.source_side.upper()} note {note.id} on ticket {note.ticket_id}"
        return items.error_row(self.direction, NOTE, item, error, result)

    def _count(self, result: ItemResult) -> None:
        self.outcome.counts = self.outcome.counts.record(self.direction, NOTE, result)


class NoteRefused(Exception):
    """The note cannot be written with its visibility kept on the target."""


def run_direction(
    factory: sessionmaker[Session],
    sync_id: int,
    direction: Direction,
    connectors: Mapping[Side, PsaConnector],
    now: Callable[[], datetime],
    *,
    policy: WatermarkPolicy,
    run_started_at: datetime,
    dry_run: bool,
    made: Collection[int] = (),
    run_id: int | None = None,
    both_ways: bool = True,
) -> DirectionOutcome:
    """The notes of one direction, from its note watermark, which then moves by the rule of
    core/sync/watermarks (not in a dry run). Nothing when either kind reads no notes.
    ``made``: the target tickets this run made (no copy of a note can be on them yet);
    ``run_id``: the run row conflicts are logged under; ``both_ways``: whether the opposite
    direction is on too."""
    source, target = connectors[direction.source], connectors[direction.target]
    try:
        sides = NoteSides(source, target, registry.notes(source.kind), registry.notes(target.kind))
    except ConnectorConfigError:
        return DirectionOutcome()
    with factory() as session:
        stored = store.watermark(session, sync_id, direction, NOTE)
    worker = NotesRun(
        factory,
        sync_id,
        direction,
        sides,
        now,
        dry_run,
        made=made,  # not copied: a run's ids are kept once (core/sync/id_sets)
        run_id=run_id,
        both_ways=both_ways,
    )
    outcome = worker.run(policy.query_from(stored))
    if not dry_run:
        moved = policy.after_run(stored, run_started_at=run_started_at, items=outcome.progress)
        with session_scope(factory) as session:
            store.save_watermark(session, sync_id, direction, NOTE, moved)
    return outcome
