"""What the notes and attachments passes of a run share with each other: a failed item recorded
for its retry with backoff, the error row a run keeps, and a new reference-map entry. Callers
own nothing here but the item: each helper is its own short transaction, so one item that fails
is recorded and the pass goes on."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ticketbridge.core.sync import batching, failures
from ticketbridge.core.sync.sides import Direction, EntityKind, Side
from ticketbridge.services.sync import store
from ticketbridge.storage.db import session_scope
from ticketbridge.storage.models.sync import SyncReference


def fail(
    factory: sessionmaker[Session],
    sync_id: int,
    kind: EntityKind,
    side: Side,
    item_id: str,
    error: str,
    now: datetime,
) -> None:
    """Record the item's failure (its attempts counted on from the last one)."""
    with session_scope(factory) as session:
        previous = store.failures(session, sync_id, kind, side).get(item_id)
        failure = failures.record_failure(
            previous, kind=kind, side=side, item_id=item_id, error=error, now=now
        )
        store.save_failure(session, sync_id, failure)


def clear(
    factory: sessionmaker[Session], sync_id: int, kind: EntityKind, side: Side, item_id: str
) -> None:
    with session_scope(factory) as session:
        store.clear_failure(session, sync_id, kind, side, item_id)


def due(
    factory: sessionmaker[Session], sync_id: int, kind: EntityKind, side: Side, now: datetime
) -> list[failures.ItemFailure]:
    with factory() as session:
        return failures.due(store.failures(session, sync_id, kind, side).values(), now)


def error_row(
    direction: Direction, kind: EntityKind, item: str, error: str, result: str
) -> dict[str, str]:
    """One entry of the run row's errors, shaped as the tickets pass shapes its own."""
    return {
        "direction": direction.value,
        "kind": kind.value,
        "item": item,
        "result": result,
        "error": error,
    }


def link(
    factory: sessionmaker[Session],
    sync_id: int,
    kind: EntityKind,
    ids: tuple[str, str],
    hashes: tuple[str, str],
    *,
    origin: Side,
    now: datetime,
) -> None:
    """A new reference-map entry: ``ids`` and ``hashes`` on side A, then side B."""
    with session_scope(factory) as session:
        session.add(
            SyncReference(
                sync_id=sync_id,
                kind=kind.value,
                a_id=ids[0],
                b_id=ids[1],
                origin=origin.value,
                a_hash=hashes[0],
                b_hash=hashes[1],
                a_field_hashes={},
                b_field_hashes={},
                flagged=False,
                flag_reason="",
                last_synced=now,
            )
        )


def mapped_tickets(factory: sessionmaker[Session], sync_id: int) -> list[tuple[str, str]]:
    """Every ticket pair (id on A, id on B) the sync carries and no operator flag holds."""
    with factory() as session:
        rows = session.execute(
            select(SyncReference.a_id, SyncReference.b_id).where(
                SyncReference.sync_id == sync_id,
                SyncReference.kind == EntityKind.TICKET.value,
                SyncReference.flagged.is_(False),
            )
        ).all()
    return [(a, b) for a, b in rows]


def mapped_pages(
    factory: sessionmaker[Session], sync_id: int, size: int
) -> Iterator[list[tuple[str, str]]]:
    """``mapped_tickets`` in pages of ``size``, each read when asked for (in a session closed
    before it is handed over), so a pass holds one page of pairs, not every pair."""
    after = 0
    while True:
        with factory() as session:
            rows = session.execute(
                select(SyncReference.id, SyncReference.a_id, SyncReference.b_id)
                .where(
                    SyncReference.sync_id == sync_id,
                    SyncReference.kind == EntityKind.TICKET.value,
                    SyncReference.flagged.is_(False),
                    SyncReference.id > after,
                )
                .order_by(SyncReference.id)
                .limit(size)
            ).all()
        if not rows:
            return
        after = rows[-1][0]
        yield [(a, b) for _, a, b in rows]


def paired_with(
    factory: sessionmaker[Session], sync_id: int, side: Side, ticket_ids: Iterable[str]
) -> dict[str, str]:
    """The tickets of ``side`` among ``ticket_ids`` that a pair not flagged holds: their
    counterpart's id, by their own."""
    own, other = (
        (SyncReference.a_id, SyncReference.b_id)
        if side is Side.A
        else (SyncReference.b_id, SyncReference.a_id)
    )
    found: dict[str, str] = {}
    with factory() as session:
        for page in batching.pages(list(ticket_ids), 500):
            rows = session.execute(
                select(own, other).where(
                    SyncReference.sync_id == sync_id,
                    SyncReference.kind == EntityKind.TICKET.value,
                    SyncReference.flagged.is_(False),
                    own.in_(page),
                )
            ).all()
            found |= {mine: theirs for mine, theirs in rows}
    return found
