"""One direction of a sync run for tickets: read what changed on the source side, decide per
ticket with the rules of core/sync, and write the copies on the target side.

A page (500 tickets) of the listing at a time: one ``get_tickets`` on the target for the
counterparts (a vanished one is flagged, never deleted), one marker search there for tickets
without an entry (a crashed run's copy is linked, not made twice), then decisions and writes,
each in its own short transaction, no database connection held while a PSA answers.

A mapped ticket changed since it was last synced is updated field by field
(services/sync/ticket_updates.py); a change whose only author the PSA names is the sync itself,
made no later than the sync last wrote the ticket, is its own write coming back: skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from itertools import chain

from sqlalchemy.orm import Session, sessionmaker

from ticketbridge.connectors.errors import ConnectorError
from ticketbridge.connectors.psa.base import PsaConnector, RemoteTicket
from ticketbridge.core.sync import batching, failures, id_sets
from ticketbridge.core.sync.conflicts import TicketVersion, resolve
from ticketbridge.core.sync.content_hash import combine
from ticketbridge.core.sync.dry_run import DryRunPlan, PlannedAction
from ticketbridge.core.sync.reference_map import ItemAction, ReferenceEntry, SourceItem, decide
from ticketbridge.core.sync.run_counts import ItemResult, RunCounts, result_of
from ticketbridge.core.sync.sides import EntityKind, Side, SyncIdentities
from ticketbridge.core.sync.watermarks import ItemOutcome, ReadProgress
from ticketbridge.core.ticket_fields import TicketDefaults
from ticketbridge.services.sync import store, ticket_updates
from ticketbridge.services.sync.config import DirectionConfig, listing_pages, marker, origin_of
from ticketbridge.services.sync.copies import ItemRefused, copy_draft
from ticketbridge.storage.db import session_scope
from ticketbridge.storage.models.sync import SyncReference

TICKET = EntityKind.TICKET
# Ids handed to a connector at once; each connector splits them into what one of its requests
# takes (Autotask 500, Jira 100), so a smaller page here would only add requests.
PAGE = 500


@dataclass(frozen=True)
class DirectionSides:
    source: PsaConnector
    target: PsaConnector
    target_defaults: TicketDefaults
    # The source's connection: what ticketbridge knows of the sync's identities there.
    source_connection_id: int | None = None


@dataclass
class DirectionOutcome:
    counts: RunCounts = field(default_factory=RunCounts)
    errors: list[dict[str, str]] = field(default_factory=list)
    planned: DryRunPlan = field(default_factory=DryRunPlan)  # counts and a bounded sample
    progress: ReadProgress = field(default_factory=ReadProgress)  # two times, not the items
    # The source tickets the run read: their files are looked at (services/sync/attachments).
    read: id_sets.IdSet = field(default_factory=id_sets.IdSet)
    # The copies this run made on the target: no notes or files yet, so not read for them.
    made: id_sets.IdSet = field(default_factory=id_sets.IdSet)
    # The PSA failure that stopped the pass before its listing's end; its watermark stays.
    stopped: ConnectorError | None = None


@dataclass
class _Read:
    """What the batched reads of one page found."""

    items: list[tuple[RemoteTicket, bool]]  # (ticket, read by the listing: not a retry)
    entries: dict[str, SyncReference]
    counterparts: dict[str, RemoteTicket]
    marked: dict[str, RemoteTicket]
    gone_retries: list[str]


@dataclass
class DirectionRun:
    factory: sessionmaker[Session]
    sync_id: int
    config: DirectionConfig
    sides: DirectionSides
    now: Callable[[], datetime]
    dry_run: bool = False
    run_id: int | None = None  # the run row conflicts are logged under
    # Told at the start (0 of 0) and after each ticket: (done, read so far: pages come lazily).
    on_item: Callable[[int, int], None] = lambda done, total: None
    outcome: DirectionOutcome = field(default_factory=DirectionOutcome)
    # Whether the opposite direction is on too: only then does a change made on the target
    # side go back to the source when this direction updates a mapped ticket.
    both_ways: bool = True
    # Who the PSA names for the sync's own writes on the source side; asked once, when needed.
    _ours: SyncIdentities | None = None

    @property
    def source_side(self) -> Side:
        return self.config.direction.source

    @property
    def target_side(self) -> Side:
        return self.config.direction.target

    # --- one direction, a page at a time ------------------------------------------------

    def run(self, since: datetime) -> DirectionOutcome:
        """A page's reads, decisions and writes, then the next; then the failures due. A PSA
        failing a page stops it there (``outcome.stopped``), earlier pages' writes recorded."""
        read = self.outcome.read
        self.on_item(0, 0)
        listed = chain.from_iterable(listing_pages(self.sides.source, since, self.config))
        try:
            for page in batching.chunked(listed, PAGE):
                page = [t for t in page if t.id not in read]  # listed twice: once is enough
                page.sort(key=lambda t: (t.last_activity or since, t.id))
                self._page(self._read([(t, True) for t in page], []), since)
            with self.factory() as session:
                failed = store.failures(session, self.sync_id, TICKET, self.source_side)
            due = failures.retries_not_in(
                failures.due(failed.values(), self.now()), (str(i) for i in read)
            )
            for ids in batching.pages([int(f.item_id) for f in due], PAGE):
                found = self.sides.source.get_tickets(ids)
                retried = [(found[i], False) for i in ids if i in found]
                self._page(self._read(retried, [str(i) for i in ids if i not in found]), since)
        except ConnectorError as exc:
            self.outcome.stopped = exc
        return self.outcome

    def _read(self, items: list[tuple[RemoteTicket, bool]], gone: list[str]) -> _Read:
        ids = [str(t.id) for t, _ in items] + gone
        with self.factory() as session:
            entries = store.references(session, self.sync_id, TICKET, self.source_side, ids)
        target_ids = [self._target_id(e) for e in entries.values()]
        target_ids += [
            o for t, _ in items if (o := self._origin(t)) is not None and str(t.id) not in entries
        ]
        counterparts: dict[str, RemoteTicket] = {}
        for page in batching.pages([int(i) for i in target_ids], PAGE):
            counterparts |= {str(k): v for k, v in self.sides.target.get_tickets(page).items()}
        unmapped = [
            marker(self.sync_id, self.source_side, str(t.id))
            for t, _ in items
            if str(t.id) not in entries and self._origin(t) is None
        ]
        marked: dict[str, RemoteTicket] = {}
        for references in batching.pages(unmapped, PAGE):
            search = self.sides.target.find_tickets_by_references(references)
            for reference, copies in search.items():
                if copies:
                    marked[reference] = copies[0]
        return _Read(items, entries, counterparts, marked, gone)

    def _page(self, found: _Read, since: datetime) -> None:
        total = len(self.outcome.read) + len(found.items)
        for ticket, listed in found.items:
            self.outcome.read.add(ticket.id)
            outcome = self._one(ticket, found)
            if listed:
                self.outcome.progress.add(ticket.last_activity or since, outcome)
            self.on_item(len(self.outcome.read), total)
        for item_id in found.gone_retries:
            self._gone(item_id, found.entries.get(item_id))

    def _target_id(self, entry: SyncReference) -> str:
        return entry.b_id if self.target_side is Side.B else entry.a_id

    def _origin(self, ticket: RemoteTicket) -> str | None:
        return origin_of(self.sync_id, self.source_side, ticket.external_id)

    def _one(self, ticket: RemoteTicket, found: _Read) -> ItemOutcome:
        item_id = str(ticket.id)
        row = found.entries.get(item_id)
        entry = store.entry_of(row) if row is not None else None
        hashes = self.config.carried.hashes_of(ticket, self.source_side)
        origin = self._origin(ticket) if row is None else None
        target_id = self._target_id(row) if row is not None else None
        copy = found.marked.get(marker(self.sync_id, self.source_side, item_id))
        item = SourceItem(
            kind=TICKET,
            side=self.source_side,
            id=item_id,
            modified_at=ticket.last_activity or self.now(),
            content_hash=combine(hashes),
            origin_marker=origin if origin in found.counterparts else None,
            changed_by=ticket_updates.author_of(ticket, row.last_synced if row else None),
        )
        if row is None and origin is not None and origin not in found.counterparts:
            self._count(ItemResult.SKIPPED)
            return ItemOutcome.SUCCEEDED  # a copy whose original is gone: nothing to link
        decision = decide(
            item,
            entry,
            ours=self._identities(item, entry),
            counterpart_missing=target_id is not None and target_id not in found.counterparts,
            marked_copy=str(copy.id) if copy is not None else None,
        )
        action = decision.action
        if action is ItemAction.CREATE and not self.config.in_scope(
            ticket.company_id, ticket.queue_id
        ):
            self._count(ItemResult.SKIPPED)
            return ItemOutcome.SUCCEEDED
        if self.dry_run:
            self._plan(action, item_id, self._label(action, ticket))
            return ItemOutcome.SUCCEEDED
        try:
            result = self._apply(action, ticket, hashes, row, decision.target_id, found)
        except (ConnectorError, ItemRefused) as exc:
            self._fail(item_id, str(exc))
            return ItemOutcome.RECORDED_FAILED
        self._count(result)
        return ItemOutcome.SUCCEEDED

    def _apply(
        self,
        action: ItemAction,
        ticket: RemoteTicket,
        hashes: dict[str, str],
        row: SyncReference | None,
        target_id: str | None,
        found: _Read,
    ) -> ItemResult:
        item_id = str(ticket.id)
        if action is ItemAction.CREATE:
            # Not read back (a Jira or Autotask GET per copy): what the target chose itself
            # is hashed UNREAD and taken as synced when the copy is first read.
            created = self.sides.target.create_ticket(
                copy_draft(
                    self.config, self.sync_id, self.source_side, self.sides.target_defaults, ticket
                ),
                read_back=False,
            )
            self._link(item_id, hashes, created, origin=self.source_side)
            self.outcome.made.add(created.id)
            for address, why in created.people.unlinked if created.people else ():
                # Not the ticket's failure: it is across, without its person.
                self.outcome.errors.append(self._error(item_id, f"{address}: {why}", "unlinked"))
        elif action is ItemAction.LINK and target_id is not None:
            copy = found.counterparts.get(target_id) or found.marked.get(
                marker(self.sync_id, self.source_side, item_id)
            )
            if copy is None:  # decide() links only to a copy the reads found
                raise ItemRefused(f"the copy {target_id} to link was not found")
            origin = self.target_side if row is None and self._origin(ticket) else self.source_side
            self._link(item_id, hashes, copy, origin=origin)
        elif action is ItemAction.UPDATE and row is not None and target_id is not None:
            return self._update(ticket, row, found.counterparts[target_id])
        elif action is ItemAction.SKIP_ECHO and row is not None:
            self._settle(row, {self.source_side: hashes})
        elif action is ItemAction.FLAG and row is not None:
            self._flag(row.id, f"ticket {target_id} is gone on side {self.target_side.upper()}")
        with session_scope(self.factory) as session:
            store.clear_failure(session, self.sync_id, TICKET, self.source_side, item_id)
        return result_of(action)

    def _link(
        self, item_id: str, hashes: dict[str, str], copy: RemoteTicket, *, origin: Side
    ) -> None:
        mine = (item_id, combine(hashes), hashes)
        copy_hashes = self.config.carried.hashes_of(copy, self.target_side)
        theirs = (str(copy.id), combine(copy_hashes), copy_hashes)
        a, b = (mine, theirs) if self.source_side is Side.A else (theirs, mine)
        with session_scope(self.factory) as session:
            session.add(
                SyncReference(
                    sync_id=self.sync_id,
                    kind=TICKET.value,
                    a_id=a[0],
                    b_id=b[0],
                    origin=origin.value,
                    a_hash=a[1],
                    b_hash=b[1],
                    a_field_hashes=a[2],
                    b_field_hashes=b[2],
                    flagged=False,
                    flag_reason="",
                    last_synced=self.now(),
                )
            )

    def _update(
        self, ticket: RemoteTicket, row: SyncReference, counterpart: RemoteTicket
    ) -> ItemResult:
        tickets = {self.source_side: ticket, self.target_side: counterpart}
        carried = self.config.carried
        now = {side: carried.hashes_of(t, side) for side, t in tickets.items()}
        stored = {Side.A: row.a_field_hashes or {}, Side.B: row.b_field_hashes or {}}
        synced = {side: carried.with_baseline(stored[side], now[side]) for side in stored}
        judged = dict(synced)
        if not self.both_ways:
            # One way: what changed on the target is not carried back, so it is no change.
            judged[self.target_side] = now[self.target_side]
        forward, backward = self.config.fields, self.config.reverse_fields
        a, b = (tickets[side] for side in (Side.A, Side.B))
        plan = resolve(
            TicketVersion(carried.fields_of(a, Side.A), self._modified(a)),
            TicketVersion(carried.fields_of(b, Side.B), self._modified(b)),
            synced_a=judged[Side.A],
            synced_b=judged[Side.B],
            a_to_b=forward if self.source_side is Side.A else backward,
            b_to_a=backward if self.source_side is Side.A else forward,
            origin=Side(row.origin),
            names=carried.names,
        )
        if plan.conflicts:
            # Logged when decided, so what the losing side held is on the sync's page.
            with session_scope(self.factory) as session:
                store.record_conflicts(
                    session,
                    self.sync_id,
                    self.run_id,
                    TICKET,
                    (row.a_id, row.b_id),
                    plan.conflicts,
                    self.now(),
                )
        connectors = {self.source_side: self.sides.source, self.target_side: self.sides.target}
        try:
            done = ticket_updates.apply(plan, tickets, connectors, synced, carried)
        except ticket_updates.NothingWritable as exc:
            raise ItemRefused(str(exc)) from None
        said = [("unmapped", ticket_updates.unmapped_message(*u)) for u in done.unmapped]
        for result, message in [*said, *done.said]:
            self.outcome.errors.append(self._error(str(ticket.id), message, result))
        self._settle(row, done.hashes)
        return ItemResult.UPDATED if done.wrote else ItemResult.SKIPPED

    def _modified(self, ticket: RemoteTicket) -> datetime:
        return ticket.last_activity or self.now()

    def _settle(self, row: SyncReference, hashes: dict[Side, dict[str, str]]) -> None:
        with session_scope(self.factory) as session:
            store.settle(session, row.id, hashes, self.now())

    def _identities(self, item: SourceItem, entry: ReferenceEntry | None) -> SyncIdentities:
        """Asked of the PSA only for a changed mapped ticket that names its author."""
        changed = entry is not None and entry.on(item.side).content_hash != item.content_hash
        if not (item.changed_by and changed):
            return SyncIdentities()
        if self._ours is None:
            known = ticket_updates.excluded_resources(self.factory, self.sides.source_connection_id)
            self._ours = ticket_updates.own_identities(self.sides.source, self.source_side, known)
        return self._ours

    def _flag(self, reference_id: int, reason: str) -> None:
        with session_scope(self.factory) as session:
            stored = session.get(SyncReference, reference_id)
            if stored is not None:
                stored.flagged, stored.flag_reason = True, reason[:300]

    def _gone(self, item_id: str, row: SyncReference | None) -> None:
        """A failed ticket that is gone from its own side: flagged when it was synced, else
        its failure is dropped (there is nothing left to bring across)."""
        if self.dry_run:
            return
        if row is not None:
            self._flag(row.id, f"ticket {item_id} is gone on side {self.source_side.upper()}")
        with session_scope(self.factory) as session:
            store.clear_failure(session, self.sync_id, TICKET, self.source_side, item_id)
        self._count(ItemResult.FLAGGED if row is not None else ItemResult.SKIPPED)

    def _fail(self, item_id: str, error: str) -> None:
        with session_scope(self.factory) as session:
            previous = store.failures(session, self.sync_id, TICKET, self.source_side).get(item_id)
            failure = failures.record_failure(
                previous,
                kind=TICKET,
                side=self.source_side,
                item_id=item_id,
                error=error,
                now=self.now(),
            )
            store.save_failure(session, self.sync_id, failure)
        self.outcome.errors.append(self._error(item_id, error, "failed"))
        self._count(ItemResult.FAILED)

    def _label(self, action: ItemAction, ticket: RemoteTicket) -> str:
        if action is ItemAction.CREATE and self.config.target_company(ticket.company_id) is None:
            return f"{ticket.title} (would fail: no company on side {self.target_side.upper()})"
        return ticket.title

    def _plan(self, action: ItemAction, item_id: str, label: str) -> None:
        self.outcome.planned.append(PlannedAction(self.target_side, TICKET, action, item_id, label))
        self._count(result_of(action))

    def _count(self, result: ItemResult) -> None:
        self.outcome.counts = self.outcome.counts.record(self.config.direction, TICKET, result)

    def _error(self, item_id: str, error: str, result: str) -> dict[str, str]:
        return {
            "direction": self.config.direction.value,
            "kind": TICKET.value,
            "item": f"{self.source_side.upper()} {item_id}",
            "result": result,
            "error": error,
        }
