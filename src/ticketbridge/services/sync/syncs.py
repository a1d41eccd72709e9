"""Syncs by name: make one between two connections, list them with their last run.

A sync is made disabled: it is enabled (services/sync/admin.py) only after a dry run showed
what its first run would do; ``ticketbridge sync run`` runs it whenever asked. Side A and
side B are fixed here for the sync's life: every stored id, hash and watermark says which side
it belongs to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ticketbridge.connectors import registry
from ticketbridge.core import names
from ticketbridge.core.sync.sides import Direction, EntityKind
from ticketbridge.services.system import audit
from ticketbridge.storage.db import add_or_rename
from ticketbridge.storage.models import PsaConnection
from ticketbridge.storage.models.sync import SyncRow, SyncRun, SyncWatermark

NAME_MAX = 100


class SyncRefused(ValueError):
    """A sync that cannot be made as asked; ``field`` names the input that is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class UnknownSyncId(LookupError):
    def __init__(self, sync_id: int) -> None:
        super().__init__(f"There is no sync {sync_id}.")


def connection_by_name(session: Session, name: str) -> PsaConnection | None:
    """The connection named ``name``; None too for text no name can hold (PostgreSQL refuses a
    NUL byte even in a query)."""
    if names.problem(name) is not None:
        return None
    return session.scalar(select(PsaConnection).where(PsaConnection.name == name))


def _connection(session: Session, field: str, name_or_id: str) -> PsaConnection:
    found = connection_by_name(session, name_or_id)
    if found is None and name_or_id.isdigit():
        found = session.get(PsaConnection, int(name_or_id))
    if found is None:
        raise SyncRefused(field, f"there is no connection {name_or_id!r}")
    return found


def check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > NAME_MAX:
        raise SyncRefused("name", f"a name of 1 to {NAME_MAX} characters is required")
    why = names.problem(name)
    if why is not None:
        raise SyncRefused("name", why)
    return name


def check_start_date(start_date: datetime) -> None:
    if start_date.tzinfo is None:
        raise SyncRefused("start_date", "the start date needs a time zone (or Z for UTC)")


def check_directions(a_to_b: bool, b_to_a: bool) -> None:
    if not (a_to_b or b_to_a):
        raise SyncRefused("a_to_b", "switch on at least one direction")


def check_scope(connection: PsaConnection, field: str, scope: dict[str, Any]) -> dict[str, Any]:
    """The side's scope as stored: a query only where the kind narrows its listing by one
    (Jira's JQL), checked first; SyncRefused naming ``<field>.jql`` otherwise."""
    scope = dict(scope or {})
    query = str(scope.pop("jql", None) or "").strip()
    if not query:
        return scope
    narrowing = registry.ticket_query(connection.kind)
    if narrowing is None:
        raise SyncRefused(
            f"{field}.jql",
            f"a {connection.kind} connection takes no query: scope it by company or queue",
        )
    problem = narrowing.problem(query)
    if problem is not None:
        raise SyncRefused(f"{field}.jql", f"{narrowing.language}: {problem}")
    return scope | {"jql": query}


def company_tables(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """A company table for both directions from (company on A, company on B) pairs."""
    return {
        "a_to_b": {"company": {"rows": dict(pairs), "default": None}},
        "b_to_a": {"company": {"rows": {b: a for a, b in pairs}, "default": None}},
    }


def create(
    session: Session,
    *,
    name: str,
    connection_a: str,
    connection_b: str,
    start_date: datetime,
    actor: str,
    now: datetime,
    mapping: dict[str, Any] | None = None,
    scope_a: dict[str, Any] | None = None,
    scope_b: dict[str, Any] | None = None,
    a_to_b: bool = True,
    b_to_a: bool = True,
    entities: dict[str, bool] | None = None,
) -> SyncRow:
    name = check_name(name)
    check_start_date(start_date)
    a = _connection(session, "connection_a", connection_a)
    b = _connection(session, "connection_b", connection_b)
    if a.id == b.id:
        raise SyncRefused("connection_b", "a sync pairs two different connections")
    check_directions(a_to_b, b_to_a)
    scope_a = check_scope(a, "scope_a", scope_a or {})
    scope_b = check_scope(b, "scope_b", scope_b or {})
    row = SyncRow(
        name=name,
        connection_a_id=a.id,
        connection_b_id=b.id,
        a_to_b=a_to_b,
        b_to_a=b_to_a,
        scope_a=scope_a or {},
        scope_b=scope_b or {},
        mapping=mapping or {},
        start_date=start_date,
        enabled=False,
        entities=entities or {},
        interval_seconds=300,
        created_at=now,
        updated_by=actor,
        updated_at=now,
    )
    if not add_or_rename(session, row, name):
        raise SyncRefused("name", f"another sync is named {name!r}")
    audit.record(
        session,
        actor=actor,
        action="sync.create",
        subject=f"sync {row.id}",
        details={"name": name, "a": a.name, "b": b.name, "start_date": start_date.isoformat()},
    )
    return row


@dataclass(frozen=True)
class SyncSummary:
    id: int
    name: str
    connection_a: str
    connection_b: str
    directions: str
    start_date: datetime
    last_status: str | None
    last_started_at: datetime | None
    enabled: bool = False
    # Where each direction's next ticket query starts; None before its first run.
    watermark_a_to_b: datetime | None = None
    watermark_b_to_a: datetime | None = None


def summaries(session: Session) -> list[SyncSummary]:
    names = {
        cid: name for cid, name in session.execute(select(PsaConnection.id, PsaConnection.name))
    }
    marks = {
        (sync_id, direction): value
        for sync_id, direction, value in session.execute(
            select(SyncWatermark.sync_id, SyncWatermark.direction, SyncWatermark.watermark).where(
                SyncWatermark.kind == EntityKind.TICKET.value
            )
        )
    }
    found = []
    for row in session.scalars(select(SyncRow).order_by(SyncRow.name)):
        last = session.scalar(
            select(SyncRun)
            .where(SyncRun.sync_id == row.id)
            .order_by(SyncRun.started_at.desc(), SyncRun.id.desc())
            .limit(1)
        )
        arrows = {(True, True): "A <-> B", (True, False): "A -> B", (False, True): "A <- B"}
        found.append(
            SyncSummary(
                id=row.id,
                name=row.name,
                connection_a=names.get(row.connection_a_id, "?"),
                connection_b=names.get(row.connection_b_id, "?"),
                directions=arrows.get((row.a_to_b, row.b_to_a), "off"),
                start_date=row.start_date,
                last_status=last.status if last is not None else None,
                last_started_at=last.started_at if last is not None else None,
                enabled=row.enabled,
                watermark_a_to_b=marks.get((row.id, Direction.A_TO_B.value)),
                watermark_b_to_a=marks.get((row.id, Direction.B_TO_A.value)),
            )
        )
    return found


def get(session: Session, sync_id: int) -> SyncRow | None:
    return session.get(SyncRow, sync_id)


def runs(session: Session, sync_id: int, *, limit: int = 50) -> list[SyncRun]:
    """The sync's runs, newest first: status, counts per direction and kind, errors."""
    return list(
        session.scalars(
            select(SyncRun)
            .where(SyncRun.sync_id == sync_id)
            .order_by(SyncRun.started_at.desc(), SyncRun.id.desc())
            .limit(limit)
        )
    )
