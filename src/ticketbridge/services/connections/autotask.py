"""The active Autotask connection: the effective settings and a ready connector, refused while
the integration is disabled or incomplete, and the audit of a remote action that failed.

While the integration is disabled, :func:`active` refuses to build a connector, so no page,
API route or job can reach Autotask (issue 4 item 6).

For ticket work (and anything else that talks to Autotask)::

    with autotask_connection.active(runtime, session, priority=Priority.OPERATOR) as autotask:
        autotask.settings.base_url, autotask.defaults   # effective settings
        autotask.connector.create_ticket(...)           # a ready PsaConnector of the kind

The connector class, its config model and the kind's extras (its cache, governor key) come from
``connectors/registry.py`` by the kind's name; this module imports no concrete connector.

Every connector of one connection shares the process's request governor
(``connectors/governor.py``); ``priority`` says where its requests queue and how long they may
go on as the hour's budget runs low (``core/psa_governor.py``). :func:`usage` is the gauge.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import SecretStr, ValidationError
from sqlalchemy.orm import Session

from ticketbridge.connectors import registry
from ticketbridge.connectors.errors import ConnectorConfigError
from ticketbridge.connectors.governor import EndpointLoad, Governor, GovernorState
from ticketbridge.connectors.http import RetryPolicy
from ticketbridge.connectors.psa.base import PsaConnector
from ticketbridge.core.psa_governor import Priority, paused
from ticketbridge.core.ticket_fields import TicketDefaults
from ticketbridge.services.connections.settings import KIND, SUBJECT, AutotaskSettings, load
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.system import audit, log_context
from ticketbridge.storage.models import IntegrationSetting
from ticketbridge.storage.secrets import SecretBox, SecretUnreadable


class IntegrationUnavailable(Exception):
    """Autotask cannot be used now; nothing was sent. The message is safe to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class IntegrationDisabled(IntegrationUnavailable):
    pass


class IntegrationNotConfigured(IntegrationUnavailable):
    pass


# --- the connector -------------------------------------------------------------------------


@dataclass(frozen=True)
class ActiveAutotask:
    settings: AutotaskSettings
    connector: PsaConnector

    @property
    def defaults(self) -> TicketDefaults:
        return self.settings.defaults


def connector_config(session: Session, box: SecretBox) -> tuple[AutotaskSettings, Any]:
    """The effective settings and the connector's Config; refuses while disabled."""
    row = session.get(IntegrationSetting, KIND)
    stored = load(session)
    if not stored.settings.enabled or row is None:
        raise IntegrationDisabled("The Autotask integration is disabled.")
    if not row.secret_encrypted:
        raise IntegrationNotConfigured("The Autotask API secret is not set.")
    try:
        secret = box.decrypt(row.secret_encrypted)
    except SecretUnreadable as exc:
        raise IntegrationNotConfigured(str(exc)) from None
    settings = stored.settings
    try:
        config = registry.config_model(KIND)(
            environment=settings.environment,
            api_host=settings.api_host,
            username=settings.username,
            secret=SecretStr(secret),
            integration_code=settings.integration_code,
            logging_level=settings.logging_level,
        )
    except ValidationError as exc:
        fields = ", ".join(str(e["loc"][0]) for e in exc.errors() if e["loc"]) or "settings"
        raise IntegrationNotConfigured(
            f"The Autotask settings are incomplete or invalid ({fields})."
        ) from None
    return settings, config


def governor(runtime: Runtime, config: Any) -> Governor:
    """The process's governor for this connection."""
    return runtime.autotask_governors.get(registry.governor_key(KIND)(config))


@dataclass(frozen=True)
class Usage:
    """The gauge of the connection's governor in this process."""

    requests_used: int  # Autotask's last figure plus our requests since
    requests_limit: int
    window_minutes: int
    share: float
    known: bool  # False until Autotask's own figure was read once
    read_at: datetime | None
    counted_since_read: int
    paused: tuple[str, ...]  # priorities held back by the budget now
    threads_per_endpoint: int
    endpoints: tuple[EndpointLoad, ...]

    @classmethod
    def of(cls, state: GovernorState) -> Usage:
        budget = state.budget
        return cls(
            requests_used=budget.used,
            requests_limit=budget.limit,
            window_minutes=budget.window_minutes,
            share=round(budget.share, 4),
            known=budget.known,
            read_at=datetime.fromtimestamp(budget.read_at, UTC) if budget.known else None,
            counted_since_read=budget.ours_since_read,
            paused=tuple(p.name.lower() for p in paused(budget)),
            threads_per_endpoint=state.threads_per_endpoint,
            endpoints=state.endpoints,
        )


def usage(runtime: Runtime, session: Session) -> Usage | None:
    """The gauge: the hour's use as last known, requests in flight and queued per endpoint.
    None while the integration is disabled or has no valid host. Sends nothing and reads no
    secret."""
    settings = load(session).settings
    if not settings.enabled:
        return None
    try:
        key = registry.governor_key(KIND)(settings)
    except ConnectorConfigError:
        return None
    return Usage.of(runtime.autotask_governors.get(key).state())


# A person waits on operator work: a throttled Autotask is answered at once ("try again in N
# seconds") instead of holding the click for up to a minute; jobs keep the patient default.
OPERATOR_RETRY = RetryPolicy(max_retry_after=5.0, max_total_wait=10.0)


@contextmanager
def active(
    runtime: Runtime,
    session: Session,
    *,
    timeout: float | None = None,
    retry: RetryPolicy | None = None,
    priority: Priority = Priority.BACKGROUND,
) -> Iterator[ActiveAutotask]:
    """The effective settings and a ready connector; closed on exit. Raises
    IntegrationDisabled or IntegrationNotConfigured before anything is sent. ``timeout`` and
    ``retry`` override the configured timeout and the connector's retry policy; ``priority``
    is where the connector's requests queue at the connection's governor (operator actions:
    ``Priority.OPERATOR``; round-trip and sync: ``ROUNDTRIP``)."""
    settings, config = connector_config(session, runtime.secret_box)
    shared = runtime.psa_transport
    http = httpx.Client(
        transport=_Borrowed(shared) if shared is not None else None,
        timeout=timeout if timeout is not None else config.timeout_seconds,
        follow_redirects=False,
    )
    try:
        # Log lines written while the connector is in use name the connection.
        with log_context.connection(KIND):
            yield ActiveAutotask(
                settings,
                registry.load(KIND)(
                    config,
                    http_client=http,
                    cache=runtime.psa_cache(KIND),
                    retry=retry or (OPERATOR_RETRY if priority is Priority.OPERATOR else None),
                    governor=governor(runtime, config),
                    priority=priority,
                ),
            )
    finally:
        http.close()


class _Borrowed(httpx.BaseTransport):
    """The runtime's shared transport, which closing one client must not close."""

    def __init__(self, transport: httpx.BaseTransport) -> None:
        self._transport = transport

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._transport.handle_request(request)


# --- auditing remote actions ---------------------------------------------------------------


def error_details(exc: BaseException) -> dict[str, Any]:
    """What an audit event keeps of a failure: class, safe message, Autotask's status code and
    the redacted request line. Never a secret (connector messages hold none)."""
    details: dict[str, Any] = {"error": str(exc), "error_type": type(exc).__name__}
    status = getattr(exc, "status_code", None)
    if status is not None:
        details["status_code"] = status
    request = getattr(exc, "request", None)
    if request:
        details["request"] = request
    return details


def record_failure(
    runtime: Runtime, *, actor: str, action: str, exc: BaseException, subject: str = SUBJECT
) -> None:
    """Audit a failed remote action in a transaction of its own, so it survives the error."""
    with runtime.session_factory() as session:
        audit.record(
            session,
            actor=actor,
            action=action,
            subject=subject,
            outcome="failed",
            details=error_details(exc),
        )
        session.commit()
