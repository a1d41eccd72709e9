"""Named PSA connections: which exist, which one a customer's run tickets go to.

An installation has any number of connections, each of a kind the registry knows. One is the
ticketing default; a customer may name another (``Customer.ticketing_connection_id``). Settings,
secrets and checks of one connection are :mod:`settings` and :mod:`checks`; this module names,
creates, lists and chooses.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ticketbridge.connectors import registry
from ticketbridge.services.system import audit
from ticketbridge.storage.db import add_or_rename
from ticketbridge.storage.models import Customer, PsaConnection, TicketLinkRow

NAME_MAX = 100


class ConnectionRefused(ValueError):
    """A connection request that cannot be applied; ``field`` says which input is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class UnknownConnection(LookupError):
    def __init__(self, connection_id: int | None) -> None:
        message = (
            "No PSA connection is set up yet."
            if connection_id is None
            else f"There is no PSA connection {connection_id}."
        )
        super().__init__(message)
        self.message = message


def subject(row: PsaConnection) -> str:
    """How audit events name a connection."""
    return f"connection {row.id}"


def all_connections(session: Session) -> list[PsaConnection]:
    return list(session.scalars(select(PsaConnection).order_by(PsaConnection.id)))


def find(session: Session, connection_id: int | None) -> PsaConnection | None:
    """The connection ``connection_id``; for None, the ticketing default (else the first)."""
    if connection_id is not None:
        return session.get(PsaConnection, connection_id)
    return session.scalar(
        select(PsaConnection).order_by(PsaConnection.ticketing_default.desc(), PsaConnection.id)
    )


def get(session: Session, connection_id: int | None) -> PsaConnection:
    row = find(session, connection_id)
    if row is None:
        raise UnknownConnection(connection_id)
    return row


def first_of_kind(session: Session, kind: str) -> PsaConnection | None:
    return session.scalar(
        select(PsaConnection)
        .where(PsaConnection.kind == kind)
        .order_by(PsaConnection.ticketing_default.desc(), PsaConnection.id)
    )


def for_customer(session: Session, customer_id: int | None) -> PsaConnection | None:
    """The connection a customer's run tickets go to: its own choice, else the default."""
    if customer_id is not None:
        chosen = session.scalar(
            select(Customer.ticketing_connection_id).where(Customer.id == customer_id)
        )
        if chosen is not None:
            return session.get(PsaConnection, chosen)
    return find(session, None)


def create(session: Session, *, name: str, kind: str, actor: str, now: datetime) -> PsaConnection:
    """A new, disabled connection of ``kind``; the first one becomes the ticketing default."""
    name = _checked_name(name)
    if kind not in registry.PSA_CONNECTORS:
        known = ", ".join(sorted(registry.PSA_CONNECTORS))
        raise ConnectionRefused("kind", f"choose one of: {known}")
    first = find(session, None) is None
    row = PsaConnection(
        name=name,
        kind=kind,
        enabled=False,
        config={},
        ticketing_default=first,
        created_at=now,
        updated_by=actor,
        updated_at=now,
    )
    if not add_or_rename(session, row, name):
        raise _taken(name)
    audit.record(
        session,
        actor=actor,
        action="connection.create",
        subject=subject(row),
        details={"name": name, "kind": kind, "ticketing_default": first},
    )
    return row


def rename(session: Session, connection_id: int, name: str, *, actor: str) -> PsaConnection:
    row = get(session, connection_id)
    name = _checked_name(name)
    if name == row.name:
        return row
    before = row.name
    if not add_or_rename(session, row, name):
        raise _taken(name)
    audit.record(
        session,
        actor=actor,
        action="connection.rename",
        subject=subject(row),
        details={"before": before, "after": name},
    )
    return row


def _checked_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > NAME_MAX:
        raise ConnectionRefused("name", f"a name of 1 to {NAME_MAX} characters is required")
    return name


def _taken(name: str) -> ConnectionRefused:
    return ConnectionRefused("name", f"another connection is named {name!r}")


def make_ticketing_default(session: Session, connection_id: int, *, actor: str) -> None:
    row = get(session, connection_id)
    if row.ticketing_default:
        return
    session.execute(
        update(PsaConnection).where(PsaConnection.id != row.id).values(ticketing_default=False)
    )
    row.ticketing_default = True
    audit.record(session, actor=actor, action="connection.ticketing_default", subject=subject(row))


def choose_for_customer(
    session: Session, customer_id: int, connection_id: int | None, *, actor: str
) -> None:
    """Send a customer's run tickets to ``connection_id`` (None: the ticketing default)."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise ConnectionRefused("customer_id", f"there is no customer {customer_id}")
    if connection_id is not None:
        get(session, connection_id)
    before = customer.ticketing_connection_id
    if before == connection_id:
        return
    customer.ticketing_connection_id = connection_id
    audit.record(
        session,
        actor=actor,
        action="customer.ticketing_connection",
        subject=f"customer {customer_id}",
        details={"before": before, "after": connection_id},
    )


def delete(session: Session, connection_id: int, *, actor: str) -> None:
    """Remove a connection that no ticket link names; links are history and keep theirs."""
    row = get(session, connection_id)
    used = session.scalar(
        select(TicketLinkRow.id).where(TicketLinkRow.connection_id == row.id).limit(1)
    )
    if used is not None:
        raise ConnectionRefused(
            "connection", "tickets of runs live in this connection; disable it instead"
        )
    if row.ticketing_default and len(all_connections(session)) > 1:
        raise ConnectionRefused("connection", "make another connection the ticketing default first")
    try:
        with session.begin_nested():
            session.delete(row)
            session.flush()
    except IntegrityError:
        # Something else still names it (a two-way sync, a service-desk mailbox).
        raise ConnectionRefused(
            "connection", "a sync or a service-desk mailbox still uses this connection"
        ) from None
    audit.record(
        session,
        actor=actor,
        action="connection.delete",
        subject=f"connection {connection_id}",
        details={"name": row.name, "kind": row.kind},
    )


def resolved_id(session: Session, connection_id: int | None) -> int | None:
    """``connection_id`` itself, or for None the ticketing default's id (None when there is
    no connection)."""
    if connection_id is not None:
        return connection_id
    row = find(session, None)
    return row.id if row is not None else None


def with_capability(session: Session, capability: str) -> PsaConnection | None:
    """The connection that serves a kind's capability (the round trip's callouts and
    webhooks come from one PSA): the ticketing default when its kind has it, else the first."""
    kinds = [k for k, offered in registry.PSA_CAPABILITIES.items() if capability in offered]
    if not kinds:
        return None
    return session.scalar(
        select(PsaConnection)
        .where(PsaConnection.kind.in_(kinds))
        .order_by(PsaConnection.ticketing_default.desc(), PsaConnection.id)
    )


def ensure_of_kind(session: Session, kind: str, *, actor: str, now: datetime) -> PsaConnection:
    """The first connection of ``kind``, made (named after the kind) when there is none."""
    found = first_of_kind(session, kind)
    if found is not None:
        return found
    name = kind.title()
    taken = {row.name for row in all_connections(session)}
    number = 2
    while name in taken:
        name, number = f"{kind.title()} {number}", number + 1
    return create(session, name=name, kind=kind, actor=actor, now=now)
