"""One-call setup of the Autotask integration, used by `ticketbridge demo` for its emulator."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ticketbridge.services.connections import mapping, reference
from ticketbridge.services.connections import settings as integration_settings
from ticketbridge.services.connections.reference import RefreshResult
from ticketbridge.services.runs import catalog
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
    options: Mapping[str, Any] | None = None,
) -> RefreshResult:
    """Enable the integration against ``api_host`` (environment custom) and load the reference
    data. ``options`` sets other settings along (``{"allow_resolve": True}``). Raises
    InvalidIntegrationSettings, IntegrationUnavailable or ConnectorError."""
    with runtime.session_factory() as session:
        integration_settings.save(
            session,
            runtime.secret_box,
            {
                **(options or {}),
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


@dataclass
class MappedByName:
    mapped: list[str] = field(default_factory=list)  # customers mapped just now
    already: list[str] = field(default_factory=list)  # mapped before: left as they were
    unmatched: list[str] = field(default_factory=list)  # no company of that exact name


def map_by_name(
    runtime: Runtime, companies: Mapping[str, str | None], *, actor: str
) -> MappedByName:
    """Map each active, unmapped customer named in ``companies`` to the active company of
    exactly the name given for it (None: leave it unmapped), through the same audited path an
    operator's click takes. A mapping made earlier, by anyone, is never changed.
    Raises IntegrationUnavailable or ConnectorError when Autotask cannot be asked."""
    result = MappedByName()
    with runtime.session_factory() as session:
        existing = mapping.mappings(session)
        customers = [
            (c.id, c.name)
            for c in catalog.list_customers(session, include_inactive=False)
            if c.name in companies
        ]
    for customer_id, name in customers:
        if customer_id in existing:
            result.already.append(name)
            continue
        wanted = companies[name]
        if wanted is None:
            continue
        found = mapping.search_companies(runtime, wanted).items
        match = next((c for c in found if c.name == wanted and c.active), None)
        if match is None:
            result.unmatched.append(name)
            continue
        mapping.map_customer(runtime, customer_id, match.id, actor=actor)
        result.mapped.append(name)
    return result
