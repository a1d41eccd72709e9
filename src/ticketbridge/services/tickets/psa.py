"""What ticket actions need from the Autotask integration: the mode, a connector, the ticket's
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
from ticketbridge.core.psa_governor import Priority
from ticketbridge.core.ticket_links import IntegrationMode
from ticketbridge.services.connections import autotask as autotask_connection
from ticketbridge.services.connections import settings as integration_settings
from ticketbridge.services.connections.autotask import (
    ActiveAutotask,
    IntegrationDisabled,
    IntegrationUnavailable,
)
from ticketbridge.services.connections.settings import AutotaskSettings
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.tickets.store import (
    PsaFailed,
    PsaUnavailable,
    TicketActionRefused,
    TicketError,
)

# Page views validate with one short try: a slow Autotask must not hold the page.
QUICK_TIMEOUT_SECONDS = 5.0


def mode_of(settings: AutotaskSettings) -> IntegrationMode:
    if not settings.enabled:
        return IntegrationMode.DISABLED
    if settings.allow_manual_ticket_numbers:
        return IntegrationMode.COMPATIBILITY
    return IntegrationMode.ENABLED


def current_settings(session: Session) -> AutotaskSettings:
    return integration_settings.load(session).settings


@contextmanager
def connect(
    runtime: Runtime,
    session: Session,
    *,
    quick: bool = False,
    priority: Priority = Priority.OPERATOR,
) -> Iterator[ActiveAutotask]:
    """A ready connector; IntegrationUnavailable becomes a ticket error before anything is sent.
    ``quick``: one try with a short timeout, for validation while a page is being shown.
    ``priority``: ticket actions are operator work, the first to get a request slot.

    Ends the session's transaction first (what was read stays usable, anything pending is
    committed), so that no database connection is held while Autotask answers: a slow PSA
    must never starve the pool. Writes after the requests take a connection again."""
    timeout, retry = (QUICK_TIMEOUT_SECONDS, NO_RETRY) if quick else (None, None)
    try:
        with autotask_connection.active(
            runtime, session, timeout=timeout, retry=retry, priority=priority
        ) as autotask:
            session.commit()
            yield autotask
    except IntegrationUnavailable as exc:
        raise unavailable(exc) from None


def ticket_url(autotask: ActiveAutotask, ticket_id: int) -> str | None:
    """The ticket's page in the PSA (Autotask: from the zone's webUrl, cached with the zone)."""
    return registry.ticket_url(autotask.connector.kind)(autotask.connector, ticket_id)


def unavailable(exc: IntegrationUnavailable) -> TicketError:
    if isinstance(exc, IntegrationDisabled):
        return TicketActionRefused(exc.message)
    return PsaFailed(exc.message)


def translate(exc: ConnectorError) -> TicketError:
    """A connector error as the ticket error the web layer answers with (never a 500)."""
    details = error_details(exc)
    if isinstance(exc, ConnectorUnavailable):
        later = f"in {int(exc.retry_after)} seconds" if exc.retry_after else "in a minute or two"
        return PsaUnavailable(
            f"Autotask is unavailable ({exc.message}). Nothing was changed in Autotask; "
            f"try again {later}.",
            details=details | ({"retry_after": exc.retry_after} if exc.retry_after else {}),
        )
    if isinstance(exc, ConnectorAuthError):
        return PsaFailed(f"Autotask refused our credentials: {exc.message}", details=details)
    if isinstance(exc, ConnectorConfigError):
        return PsaFailed(f"The Autotask settings are wrong: {exc.message}", details=details)
    if isinstance(exc, RemoteRejected):
        return PsaFailed(f"Autotask rejected the request: {exc.message}", details=details)
    if isinstance(exc, RemoteNotFound):
        return TicketActionRefused(exc.message, details=details)
    return PsaFailed(exc.message, details=details)


def error_details(exc: BaseException) -> dict[str, Any]:
    return autotask_connection.error_details(exc)
