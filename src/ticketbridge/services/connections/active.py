"""A connection in use: its effective settings and a ready connector, refused while the
connection is disabled or incomplete, and the audit of a remote action that failed.

While a connection is disabled, :func:`active` refuses to build its connector, so no page, API
route or job can reach that PSA (issue 4 item 6).

For ticket work (and anything else that talks to a PSA)::

    with active_connection.active(runtime, session, connection_id, priority=...) as psa:
        psa.settings.base_url, psa.defaults   # effective ticket policy
        psa.connector.create_ticket(...)      # a ready PsaConnector of the connection's kind

``connection_id`` None is the ticketing default. The connector class, its config model and the
kind's extras (its cache, governor key) come from ``connectors/registry.py`` by the kind's name;
this module imports no concrete connector.

Every connector of one connection shares the process's request governor
(``connectors/governor.py``); ``priority`` says where its requests queue and how long they may
go on as the hour's budget runs low (``core/psa_governor.py``). :func:`usage` is the gauge.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace
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
from ticketbridge.services.connections import named
from ticketbridge.services.connections.connector_fields import secrets
from ticketbridge.services.connections.settings import ConnectionSettings, load
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.system import audit, log_context
from ticketbridge.storage.secrets import SecretBox, SecretUnreadable


class IntegrationUnavailable(Exception):
    """The PSA cannot be used now; nothing was sent. The message is safe to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class IntegrationDisabled(IntegrationUnavailable):
    pass


class IntegrationNotConfigured(IntegrationUnavailable):
    pass


# --- the connector -------------------------------------------------------------------------


@dataclass(frozen=True)
class ActiveConnection:
    settings: ConnectionSettings
    connector: PsaConnector
    connection_id: int
    name: str

    @property
    def kind(self) -> str:
        return self.connector.kind

    @property
    def defaults(self) -> TicketDefaults:
        return self.settings.defaults


@dataclass(frozen=True)
class _Ready:
    settings: ConnectionSettings
    config: Any
    connection_id: int
    name: str
    kind: str


def connector_config(session: Session, box: SecretBox, connection_id: int | None = None) -> _Ready:
    """The effective settings and the connector's Config; refuses while disabled."""
    row = named.find(session, connection_id)
    if row is None:
        if connection_id is not None:
            raise IntegrationNotConfigured(f"There is no PSA connection {connection_id}.")
        raise IntegrationDisabled("No PSA connection is set up.")
    stored = load(session, row.id)
    if not row.enabled:
        raise IntegrationDisabled(f"The {row.name} integration is disabled.")
    try:
        clear = secrets(row, box)
    except SecretUnreadable as exc:
        raise IntegrationNotConfigured(str(exc)) from None
    if not clear:
        raise IntegrationNotConfigured(f"The {row.name} API secret is not set.")
    try:
        config = registry.config_model(row.kind)(
            **{k: v for k, v in stored.connector.items() if v is not None},
            **{k: SecretStr(v) for k, v in clear.items()},
        )
    except ValidationError as exc:
        fields = ", ".join(str(e["loc"][0]) for e in exc.errors() if e["loc"]) or "settings"
        raise IntegrationNotConfigured(
            f"The {row.name} settings are incomplete or invalid ({fields})."
        ) from None
    return _Ready(stored.settings, config, row.id, row.name, row.kind)


def _governor_key(kind: str, connection_id: int, values: Any) -> tuple[str, ...]:
    """The kind's own key (Autotask: per database and tracking identifier, so two
    connections to one database share one budget), else one governor per connection."""
    if "governor_key" in registry.PSA_CAPABILITIES.get(kind, {}):
        return tuple(registry.governor_key(kind)(values))
    return ("connection", str(connection_id))


def governor(runtime: Runtime, ready: _Ready) -> Governor:
    """The process's governor for this connection."""
    return runtime.psa_governors.get(_governor_key(ready.kind, ready.connection_id, ready.config))


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


def usage(runtime: Runtime, session: Session, connection_id: int | None = None) -> Usage | None:
    """The gauge: the hour's use as last known, requests in flight and queued per endpoint.
    None while the connection is disabled or has no valid host. Sends nothing and reads no
    secret."""
    row = named.find(session, connection_id)
    if row is None or not row.enabled:
        return None
    stored = load(session, row.id)
    try:
        key = _governor_key(row.kind, row.id, _Values(stored.connector))
    except (ConnectorConfigError, AttributeError):
        return None
    return Usage.of(runtime.psa_governors.get(key).state())


class _Values(SimpleNamespace):
    """Stored connector settings read as attributes, as a governor key reads a config."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        super().__init__(
            **{k: ("" if v is None and k != "api_host" else v) for k, v in values.items()}
        )


# A person waits on operator work: a throttled Autotask is answered at once ("try again in N
# seconds") instead of holding the click for up to a minute; jobs keep the patient default.
OPERATOR_RETRY = RetryPolicy(max_retry_after=5.0, max_total_wait=10.0)


@contextmanager
def active(
    runtime: Runtime,
    session: Session,
    connection_id: int | None = None,
    *,
    timeout: float | None = None,
    retry: RetryPolicy | None = None,
    priority: Priority = Priority.BACKGROUND,
) -> Iterator[ActiveConnection]:
    """The connection's effective settings and a ready connector (``connection_id`` None: the
    ticketing default); closed on exit. Raises IntegrationDisabled or IntegrationNotConfigured
    before anything is sent. ``timeout`` and ``retry`` override the configured timeout and the
    connector's retry policy; ``priority`` is where the connector's requests queue at the
    connection's governor (operator actions: ``Priority.OPERATOR``; round-trip and sync:
    ``ROUNDTRIP``)."""
    ready = connector_config(session, runtime.secret_box, connection_id)
    shared = runtime.psa_transport
    http = httpx.Client(
        transport=_Borrowed(shared) if shared is not None else None,
        timeout=timeout if timeout is not None else ready.config.timeout_seconds,
        follow_redirects=False,
    )
    try:
        # Log lines written while the connector is in use name the connection.
        with log_context.connection(ready.kind):
            yield ActiveConnection(
                ready.settings,
                registry.load(ready.kind)(
                    ready.config,
                    http_client=http,
                    cache=runtime.psa_cache(ready.kind),
                    retry=retry or (OPERATOR_RETRY if priority is Priority.OPERATOR else None),
                    governor=governor(runtime, ready),
                    priority=priority,
                ),
                ready.connection_id,
                ready.name,
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
    runtime: Runtime, *, actor: str, action: str, exc: BaseException, subject: str = "connection"
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
