"""What ticket actions need from a PSA connection: the mode, a connector, the ticket's
web address, and connector errors turned into ticket errors with the right HTTP status.

While the integration is disabled nothing here builds a connector (design phase 6: zero
Autotask requests).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.orm import Session

from ticketbridge.connectors import registry
from ticketbridge.connectors.errors import (
    ConnectorAuthError,
    ConnectorConfigError,
    ConnectorError,
    ConnectorUnavailable,
    RemoteNotFound,
    RemoteRejected,
)
from ticketbridge.connectors.http import NO_RETRY
from ticketbridge.connectors.psa.base import capabilities_of
from ticketbridge.core import resolve_policy
from ticketbridge.core.psa_governor import Priority
from ticketbridge.core.ticket_links import IntegrationMode
from ticketbridge.services.connections import active as active_connection
from ticketbridge.services.connections import named, reference
from ticketbridge.services.connections import settings as integration_settings
from ticketbridge.services.connections.active import (
    ActiveConnection,
    IntegrationDisabled,
    IntegrationUnavailable,
)
from ticketbridge.services.connections.settings import ConnectionSettings
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.tickets.store import (
    PsaFailed,
    PsaUnavailable,
    TicketActionRefused,
    TicketError,
)
from ticketbridge.storage.models import PsaConnection

# Page views validate with one short try: a slow Autotask must not hold the page.
QUICK_TIMEOUT_SECONDS = 5.0


def mode_of(settings: ConnectionSettings) -> IntegrationMode:
    if not settings.enabled:
        return IntegrationMode.DISABLED
    if settings.allow_manual_ticket_numbers:
        return IntegrationMode.COMPATIBILITY
    return IntegrationMode.ENABLED


def current_settings(session: Session, connection_id: int | None = None) -> ConnectionSettings:
    """The ticket policy of the connection (None: the ticketing default); disabled settings
    when that connection does not exist."""
    if connection_id is not None and named.find(session, connection_id) is None:
        return ConnectionSettings()
    return integration_settings.load(session, connection_id).settings


# Stands for "no connection" where an id is wanted: no row has it, so it reads as disabled.
NO_CONNECTION = 0


def roundtrip_connection(session: Session) -> int:
    """The connection whose PSA reports ticket changes back (callouts, webhooks, polling):
    the first one of a kind with the round-trip capability; NO_CONNECTION when there is none."""
    row = named.with_capability(session, "roundtrip")
    return row.id if row is not None else NO_CONNECTION


def internal_publish(session: Session, connection_id: int | None) -> int | None:
    """The publish value that keeps a note internal in the connection: from its publish
    picklist, or ``INTERNAL_BY_FLAG`` for a kind whose internal notes are a flag (Jira)."""
    row = named.find(session, connection_id)
    if row is None:
        return None
    if not capabilities_of(registry.load(row.kind)).note_picklists:
        return resolve_policy.INTERNAL_BY_FLAG
    values = reference.options(session, row.id).get("publish", [])
    return resolve_policy.internal_publish_value(
        resolve_policy.PicklistOption(int(v.value_id), v.name, bool(v.active)) for v in values
    )


def new_ticket_connection(
    session: Session, customer_id: int
) -> tuple[PsaConnection | None, ConnectionSettings]:
    """The connection a new ticket (or link) for a run of this customer goes to, and its
    ticket policy; no connection and disabled settings when none is set up."""
    row = named.for_customer(session, customer_id)
    if row is None:
        return None, ConnectionSettings()
    return row, integration_settings.load(session, row.id).settings


@contextmanager
def connect(
    runtime: Runtime,
    session: Session,
    connection_id: int | None = None,
    *,
    quick: bool = False,
    priority: Priority = Priority.OPERATOR,
) -> Iterator[ActiveConnection]:
    """A ready connector; IntegrationUnavailable becomes a ticket error before anything is sent.
    ``quick``: one try with a short timeout, for validation while a page is being shown.
    ``priority``: ticket actions are operator work, the first to get a request slot.

    Ends the session's transaction first (what was read stays usable, anything pending is
    committed), so that no database connection is held while Autotask answers: a slow PSA
    must never starve the pool. Writes after the requests take a connection again."""
    timeout, retry = (QUICK_TIMEOUT_SECONDS, NO_RETRY) if quick else (None, None)
    try:
        with active_connection.active(
            runtime, session, connection_id, timeout=timeout, retry=retry, priority=priority
        ) as autotask:
            session.commit()
            yield autotask
    except IntegrationUnavailable as exc:
        raise unavailable(exc) from None


def ticket_url(autotask: ActiveConnection, ticket_id: int) -> str | None:
    """The ticket's page in the PSA (Autotask: from the zone's webUrl, cached with the zone)."""
    return registry.ticket_url(autotask.connector.kind)(autotask.connector, ticket_id)


def unavailable(exc: IntegrationUnavailable) -> TicketError:
    if isinstance(exc, IntegrationDisabled):
        return TicketActionRefused(exc.message)
    return PsaFailed(exc.message)


def translate(exc: ConnectorError, psa: str) -> TicketError:
    """A connector error as the ticket error the web layer answers with (never a 500);
    ``psa`` names the connection in the message."""
    details = error_details(exc)
    if isinstance(exc, ConnectorUnavailable):
        later = f"in {int(exc.retry_after)} seconds" if exc.retry_after else "in a minute or two"
        return PsaUnavailable(
            f"{psa} is unavailable ({exc.message}). Nothing was changed in {psa}; "
            f"try again {later}.",
            details=details | ({"retry_after": exc.retry_after} if exc.retry_after else {}),
        )
    if isinstance(exc, ConnectorAuthError):
        return PsaFailed(f"{psa} refused our credentials: {exc.message}", details=details)
    if isinstance(exc, ConnectorConfigError):
        return PsaFailed(f"The {psa} settings are wrong: {exc.message}", details=details)
    if isinstance(exc, RemoteRejected):
        return PsaFailed(f"{psa} rejected the request: {exc.message}", details=details)
    if isinstance(exc, RemoteNotFound):
        return TicketActionRefused(exc.message, details=details)
    return PsaFailed(exc.message, details=details)


def error_details(exc: BaseException) -> dict[str, Any]:
    return active_connection.error_details(exc)
