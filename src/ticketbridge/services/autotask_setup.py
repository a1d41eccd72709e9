"""One-call setup of the Autotask integration, used by `ticketbridge demo` for its emulator."""

from __future__ import annotations

from ticketbridge.services import integration_settings, reference
from ticketbridge.services.reference import RefreshResult
from ticketbridge.services.runtime import Runtime


def connect(
    runtime: Runtime,
    *,
    api_host: str,
    username: str,
    secret: str,
    integration_code: str,
    base_url: str,
    actor: str,
) -> RefreshResult:
    """Enable the integration against ``api_host`` (environment custom) and load the reference
    data. Raises InvalidIntegrationSettings, IntegrationUnavailable or ConnectorError."""
    with runtime.session_factory() as session:
        integration_settings.save(
            session,
            runtime.secret_box,
            {
                "enabled": True,
                "environment": "custom",
                "api_host": api_host,
                "username": username,
                "secret": secret,
                "integration_code": integration_code,
                "base_url": base_url,
            },
            actor=actor,
            now=runtime.clock(),
        )
        session.commit()
    return reference.refresh(runtime, actor=actor)
