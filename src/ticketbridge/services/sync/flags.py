"""Items flagged for an operator, and an admin clearing a flag (issue 14, item 7).

A run never propagates a delete: a synced ticket whose counterpart (or itself) is gone, or an
edited note whose counterpart is gone, is flagged with the reason and left alone. An admin
then decides, audited:

- **clear**: the flag is lifted and both tickets are read again on the next run (a retry due
  at once on each side). Both there (a ticket restored, access given back): the pair syncs
  again. One still gone: the run flags it again with the reason, nothing is deleted.
- **forget**: the entry is removed with its items' pending retries; the sync no longer knows
  the pair. The ticket left is then like any ticket the sync has not seen: an original in
  scope is copied anew when it next changes; a copy whose original is gone stays alone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ticketbridge.core.sync.failures import ItemFailure
from ticketbridge.core.sync.sides import EntityKind, Side
from ticketbridge.services.sync import store
from ticketbridge.services.sync.config import directions
from ticketbridge.services.system import audit
from ticketbridge.storage.models.sync import SyncFailure, SyncReference, SyncRow

FlagAction = Literal["clear", "forget"]


class UnknownFlag(LookupError):
    def __init__(self, sync_id: int, reference_id: int) -> None:
        super().__init__(f"The sync {sync_id} has no flagged item {reference_id}.")


def flagged(session: Session, sync_id: int) -> list[SyncReference]:
    """The sync's flagged items, the most recently synced first."""
    return list(
        session.scalars(
            select(SyncReference)
            .where(SyncReference.sync_id == sync_id, SyncReference.flagged.is_(True))
            .order_by(SyncReference.last_synced.desc(), SyncReference.id.desc())
        )
    )


def counts(session: Session) -> dict[int, int]:
    """Flagged items per sync id (the list page)."""
    found = session.execute(
        select(SyncReference.sync_id, func.count())
        .where(SyncReference.flagged.is_(True))
        .group_by(SyncReference.sync_id)
    )
    return {sync_id: int(n) for sync_id, n in found}


def resolve(
    session: Session,
    row: SyncRow,
    reference_id: int,
    action: FlagAction,
    *,
    actor: str,
    now: datetime,
) -> SyncReference:
    """Clear or forget one flagged item of ``row``; raises UnknownFlag for anything else (an
    entry of another sync, or one no longer flagged: a second click does nothing twice)."""
    entry = session.get(SyncReference, reference_id)
    if entry is None or entry.sync_id != row.id or not entry.flagged:
        raise UnknownFlag(row.id, reference_id)
    ids = {Side.A: entry.a_id, Side.B: entry.b_id}
    details = {
        "kind": entry.kind,
        "a_id": entry.a_id,
        "b_id": entry.b_id,
        "reason": entry.flag_reason,
    }
    if action == "clear":
        entry.flagged, entry.flag_reason = False, ""
        if entry.kind == EntityKind.TICKET.value:
            # Read where a direction is on: a retry on a side no direction reads would wait
            # for ever.
            for direction in directions(row):
                _read_again(session, row.id, direction.source, ids[direction.source], actor, now)
    else:
        for side, item_id in ids.items():
            session.execute(
                delete(SyncFailure).where(
                    SyncFailure.sync_id == row.id,
                    SyncFailure.kind == entry.kind,
                    SyncFailure.side == side.value,
                    SyncFailure.item_id == item_id,
                )
            )
        session.delete(entry)
    audit.record(
        session,
        actor=actor,
        action=f"sync.flag.{action}",
        subject=f"sync {row.id}",
        details=details,
    )
    return entry


def _read_again(
    session: Session, sync_id: int, side: Side, item_id: str, actor: str, now: datetime
) -> None:
    """A retry due now: the run reads the ticket by id whether or not it changed (the run's
    retry queue, services/sync/tickets.py), so a cleared flag is settled on the next run."""
    previous = store.failures(session, sync_id, EntityKind.TICKET, side).get(item_id)
    store.save_failure(
        session,
        sync_id,
        ItemFailure(
            kind=EntityKind.TICKET,
            side=side,
            item_id=item_id,
            error=f"flag cleared by {actor}: read again on the next run",
            attempts=previous.attempts if previous is not None else 0,
            first_failed_at=previous.first_failed_at if previous is not None else now,
            last_failed_at=now,
            next_retry_at=now,
        ),
    )
