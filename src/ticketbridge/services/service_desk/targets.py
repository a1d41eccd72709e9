"""What the kind of a desk mailbox's target connection makes of its mail, asked of the registry
(connectors/psa/capabilities.DeskTarget), so that nothing here names a kind."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ticketbridge.connectors import registry
from ticketbridge.connectors.psa.capabilities import DeskTarget
from ticketbridge.core.service_desk.drafts import DraftLimits
from ticketbridge.services.connections import reference
from ticketbridge.storage.models import PsaConnection


def of_connection(connection: PsaConnection | None) -> DeskTarget | None:
    """None for no connection, or one whose kind cannot take desk mail."""
    return registry.desk_target(connection.kind) if connection is not None else None


def of_connection_id(session: Session, connection_id: int | None) -> DeskTarget | None:
    return of_connection(session.get(PsaConnection, connection_id) if connection_id else None)


def draft_limits(target: DeskTarget) -> DraftLimits:
    return DraftLimits(title=target.title, description=target.description, comment=target.comment)


# How PSAs name the source of a ticket that came by mail (Autotask's demo and tenants: "Email").
_MAIL_SOURCES = frozenset({"email", "e-mail"})


def mail_source(session: Session, connection_id: int) -> int | None:
    """The connection's active ticket source named Email, from its stored reference data, so a
    ticket opened from mail says so; None where the PSA has no such source (Jira)."""
    for value in reference.options(session, connection_id).get("source", []):
        if value.active and value.name.strip().casefold() in _MAIL_SOURCES:
            return int(value.value_id)
    return None
