"""The files of each synced ticket pair, both ways (issue 14, item 5), once the tickets and
notes of both directions have run.

A pair is looked at when the run read either of its tickets (a new file is activity on its
ticket in both PSAs) or when its last attempt failed and its retry is due. The pairs go in
chunks of the larger side's ``list_batch``; each chunk's tickets are listed on both sides by
``list_for_tickets``, one request per PSA page (Autotask 500 tickets, Jira 100), so a run costs
requests per page of pairs, never per pair. A file already in the reference map (by its id on
its side) was synced, or is a copy, and is skipped without a download. Any other file is
planned with core/sync/attachments.plan_attachment against the target's files of the same
name: their sha256 comes from the reference map or, for a file the sync did not put there, from
reading it. The same name and sha256 links the two without an upload; the same name with
another sha256 is a changed file and is uploaded again; a file over the limit (10 MiB, or less
where the target takes less) or empty is not sent, and says so. Every upload is recorded with
its sha256.

A listing that fails fails every pair of its chunk, and a ticket the listing leaves out (it no
longer exists) fails its pair: neither is ever read as "no attachments yet". A pair with a
failure (its listing, or one file's download or upload) is recorded once, by its ticket on
side A, and retried with backoff; the other files of the pair and the other pairs go on.
A dry run reads the same and downloads what it must hash, and writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from ticketbridge.connectors import registry
from ticketbridge.connectors.errors import ConnectorConfigError, ConnectorError
from ticketbridge.connectors.psa.base import PsaConnector
from ticketbridge.connectors.psa.capabilities import Attachments, RemoteAttachment
from ticketbridge.core.sync import batching
from ticketbridge.core.sync.attachments import (
    DEFAULT_MAX_BYTES,
    AttachmentAction,
    AttachmentFile,
    plan_attachment,
)
from ticketbridge.core.sync.content_hash import file_sha256
from ticketbridge.core.sync.dry_run import PlannedAction
from ticketbridge.core.sync.reference_map import ItemAction
from ticketbridge.core.sync.run_counts import ItemResult
from ticketbridge.core.sync.sides import Direction, EntityKind, Side
from ticketbridge.services.sync import items, store
from ticketbridge.services.sync.tickets import DirectionOutcome
from ticketbridge.storage.models.sync import SyncReference

ATTACHMENT = EntityKind.ATTACHMENT


@dataclass(frozen=True)
class FileSide:
    connector: PsaConnector
    files: Attachments


@dataclass
class _Pair:
    """One ticket pair's files as listed, what of them is mapped, and their known sha256."""

    tickets: dict[Side, str]
    listed: dict[Side, list[RemoteAttachment]]
    mapped: dict[Side, set[str]]
    sha: dict[tuple[Side, str], str]
    failed: str | None = None


@dataclass
class AttachmentsRun:
    factory: sessionmaker[Session]
    sync_id: int
    directions: list[Direction]
    sides: Mapping[Side, FileSide]
    now: Callable[[], datetime]
    dry_run: bool = False
    outcome: DirectionOutcome = field(default_factory=DirectionOutcome)
    # Per side, the tickets this run made: new copies hold no files yet, so are not listed.
    made: Mapping[Side, Collection[int]] = field(default_factory=dict)

    def run(self, touched: Mapping[Side, Collection[int]]) -> DirectionOutcome:
        """The pairs of which a ticket is in ``touched`` (ids read this run, per side), and
        those whose retry is due."""
        with self.factory() as session:
            failed = store.failures(session, self.sync_id, ATTACHMENT, Side.A)
        due = {f.item_id for f in failed.values() if f.is_due(self.now())}
        seen_a, seen_b = touched.get(Side.A, ()), touched.get(Side.B, ())
        size = max(self.sides[Side.A].files.list_batch, self.sides[Side.B].files.list_batch)
        # The pairs are read from the database a page at a time and the chunk is listed when
        # full: the pass holds one chunk of pairs, never every pair.
        pairs = (
            {Side.A: a_id, Side.B: b_id}
            for page in items.mapped_pages(self.factory, self.sync_id, size)
            for a_id, b_id in page
            if int(a_id) in seen_a or int(b_id) in seen_b or a_id in due
        )
        for chunk in batching.chunked(pairs, size):
            self._chunk(chunk, set(failed))
        return self.outcome

    def _chunk(self, chunk: list[dict[Side, str]], had_failed: set[str]) -> None:
        """One chunk of pairs: both sides listed in batches, then each pair on its own."""
        listed: dict[Side, dict[int, list[RemoteAttachment]]] = {}
        for side in (Side.A, Side.B):
            own, made = self.sides[side], self.made.get(side, ())
            listed[side] = {int(p[side]): [] for p in chunk if int(p[side]) in made}
            wanted = [int(p[side]) for p in chunk if int(p[side]) not in made]
            try:
                if wanted:
                    listed[side] |= own.files.list_for_tickets(own.connector, wanted)
            except ConnectorError as exc:
                for tickets in chunk:
                    pair = _Pair(tickets, {}, {}, {})
                    error = f"the files of ticket {tickets[side]} on side {side.upper()} could "
                    error += f"not be read: {exc}"
                    self._failed(pair, error, Direction.from_source(side), side)
                    self._settle(pair, tickets[Side.A] in had_failed)
                return
        with self.factory() as session:
            known = {
                side: store.references(
                    session,
                    self.sync_id,
                    ATTACHMENT,
                    side,
                    [str(f.id) for files in listed[side].values() for f in files],
                )
                for side in (Side.A, Side.B)
            }
        for tickets in chunk:
            self._pair(tickets, listed, known, had_failed=tickets[Side.A] in had_failed)

    def _pair(
        self,
        tickets: dict[Side, str],
        listed: dict[Side, dict[int, list[RemoteAttachment]]],
        known: dict[Side, dict[str, SyncReference]],
        *,
        had_failed: bool,
    ) -> None:
        pair = _Pair(tickets, {}, {}, {})
        for side in (Side.A, Side.B):
            files = listed[side].get(int(tickets[side]))
            if files is None:
                error = f"the files of ticket {tickets[side]} on side {side.upper()} could not "
                error += "be read: the ticket was not found"
                self._failed(pair, error, Direction.from_source(side), side)
                self._settle(pair, had_failed)
                return
            pair.listed[side] = list(files)
            rows = {str(f.id): known[side][str(f.id)] for f in files if str(f.id) in known[side]}
            pair.mapped[side] = set(rows)
            for own_id, row in rows.items():
                pair.sha[(side, own_id)] = row.a_hash if side is Side.A else row.b_hash
        for direction in self.directions:
            for file in list(pair.listed[direction.source]):
                self._file(pair, direction, file)
        self._settle(pair, had_failed)

    def _file(self, pair: _Pair, direction: Direction, file: RemoteAttachment) -> None:
        source, target = direction.source, direction.target
        if str(file.id) in pair.mapped[source]:
            self._count(direction, ItemResult.SKIPPED)  # synced, or the sync's own copy
            return
        limit = self._limit(target)
        sized = plan_attachment(AttachmentFile(file.file_name, file.size, ""), (), max_bytes=limit)
        if sized.action in (AttachmentAction.TOO_LARGE, AttachmentAction.EMPTY):
            item = self._item(source, file)
            self.outcome.errors.append(
                items.error_row(direction, ATTACHMENT, item, sized.reason, "skipped")
            )
            self._count(direction, ItemResult.SKIPPED)
            return
        try:
            data = self._read(source, file, limit)
            sha = file_sha256(data)
            same_name = [f for f in pair.listed[target] if f.file_name == file.file_name]
            on_target = [
                AttachmentFile(f.file_name, f.size, self._sha(pair, target, f, limit))
                for f in same_name
            ]
            plan = plan_attachment(
                AttachmentFile(file.file_name, file.size, sha), on_target, max_bytes=limit
            )
            if plan.action is AttachmentAction.SKIP_SAME:
                twin = next(f for f, c in zip(same_name, on_target, strict=True) if c.sha256 == sha)
                if str(twin.id) not in pair.mapped[target] and not self.dry_run:
                    self._link(pair, source, file, twin, sha, origin=source)
                self._count(direction, ItemResult.SKIPPED)
                return
            if self.dry_run:
                planned = PlannedAction(
                    target, ATTACHMENT, ItemAction.CREATE, str(file.id), file.file_name
                )
                self.outcome.planned.append(planned)
                self._count(direction, ItemResult.CREATED)
                return
            own = self.sides[target]
            made = own.files.add(
                own.connector,
                int(pair.tickets[target]),
                file_name=file.file_name,
                content_type=file.content_type,
                data=data,
                internal=file.visibility == "internal",
            )
        except ConnectorError as exc:
            self._failed(pair, f"{file.file_name}: {exc}", direction, source, file)
            return
        pair.listed[target].append(made)
        self._link(pair, source, file, made, sha, origin=source)
        self._count(direction, ItemResult.CREATED)

    def _limit(self, target: Side) -> int:
        most = self.sides[target].files.max_upload_bytes
        return DEFAULT_MAX_BYTES if most is None else min(most, DEFAULT_MAX_BYTES)

    def _read(self, side: Side, file: RemoteAttachment, limit: int) -> bytes:
        own = self.sides[side]
        return own.files.download(own.connector, file, max_bytes=limit)

    def _sha(self, pair: _Pair, side: Side, file: RemoteAttachment, limit: int) -> str:
        """A target file's sha256: from the reference map, else read (once per run)."""
        key = (side, str(file.id))
        if key not in pair.sha:
            if file.size > limit:
                # Not read to hash: a file over the limit is never the one we would send.
                pair.sha[key] = f"over the limit: {file.size} bytes"
            else:
                pair.sha[key] = file_sha256(self._read(side, file, limit))
        return pair.sha[key]

    def _link(
        self,
        pair: _Pair,
        source: Side,
        file: RemoteAttachment,
        copy: RemoteAttachment,
        sha: str,
        *,
        origin: Side,
    ) -> None:
        target = source.other
        ids = (str(file.id), str(copy.id)) if source is Side.A else (str(copy.id), str(file.id))
        items.link(
            self.factory, self.sync_id, ATTACHMENT, ids, (sha, sha), origin=origin, now=self.now()
        )
        pair.mapped[source].add(str(file.id))
        pair.mapped[target].add(str(copy.id))
        pair.sha[(target, str(copy.id))] = sha

    def _failed(
        self,
        pair: _Pair,
        error: str,
        direction: Direction,
        side: Side,
        file: RemoteAttachment | None = None,
    ) -> None:
        pair.failed = pair.failed or error
        item = self._item(side, file) if file else f"{side.upper()} ticket {pair.tickets[side]}"
        self.outcome.errors.append(items.error_row(direction, ATTACHMENT, item, error, "failed"))
        self._count(direction, ItemResult.FAILED)

    def _settle(self, pair: _Pair, had_failed: bool) -> None:
        if self.dry_run:
            return
        key = pair.tickets[Side.A]
        if pair.failed is not None:
            items.fail(self.factory, self.sync_id, ATTACHMENT, Side.A, key, pair.failed, self.now())
        elif had_failed:
            items.clear(self.factory, self.sync_id, ATTACHMENT, Side.A, key)

    def _item(self, side: Side, file: RemoteAttachment) -> str:
        return f"{side.upper()} file {file.file_name} ({file.id}) on ticket {file.ticket_id}"

    def _count(self, direction: Direction, result: ItemResult) -> None:
        self.outcome.counts = self.outcome.counts.record(direction, ATTACHMENT, result)


def run_pairs(
    factory: sessionmaker[Session],
    sync_id: int,
    directions: list[Direction],
    connectors: Mapping[Side, PsaConnector],
    now: Callable[[], datetime],
    *,
    touched: Mapping[Side, Collection[int]],
    dry_run: bool,
    made: Mapping[Side, Collection[int]] | None = None,
) -> DirectionOutcome:
    """The files of the pairs touched this run (or due for a retry); nothing when either kind
    keeps no files. ``made``: per side, the tickets this run made, known to hold no files."""
    try:
        sides = {
            side: FileSide(connector, registry.attachments(connector.kind))
            for side, connector in connectors.items()
        }
    except ConnectorConfigError:
        return DirectionOutcome()
    worker = AttachmentsRun(factory, sync_id, directions, sides, now, dry_run, made=made or {})
    return worker.run(touched)
