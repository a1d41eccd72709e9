"""One-call setup of a PSA connection, used by `ticketbridge demo` for its emulators."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ticketbridge.services.connections import mapping, named, reference
from ticketbridge.services.connections import settings as connection_settings
from ticketbridge.services.connections.reference import RefreshResult
from ticketbridge.services.runs import catalog
from ticketbridge.services.runtime import Runtime


@dataclass(frozen=True)
class Connected:
    connection_id: int
    refreshed: RefreshResult


def connect(
    runtime: Runtime,
    *,
    name: str,
    kind: str,
    connector: Mapping[str, Any],
    base_url: str,
    actor: str,
    options: Mapping[str, Any] | None = None,
    defaults_by_name: Mapping[str, str] | None = None,
) -> Connected:
    """Enable the connection ``name`` (made of ``kind`` when there is none) with the
    connector settings (secrets included) and load its reference data. ``options`` sets other
    settings along (``{"allow_resolve": True}``); ``defaults_by_name`` chooses ticket defaults
    by their names in the PSA where the usual names (Helpdesk, New, ...) are not there
    (``{"default_queue_id": "Task"}``). Raises InvalidIntegrationSettings,
    IntegrationUnavailable or ConnectorError."""
    with runtime.session_factory() as session:
        row = next((c for c in named.all_connections(session) if c.name == name), None)
        if row is None:
            row = named.create(session, name=name, kind=kind, actor=actor, now=runtime.clock())
        connection_settings.save(
            session,
            runtime.secret_box,
            {**(options or {}), "enabled": True, "base_url": base_url, "connector": connector},
            actor=actor,
            now=runtime.clock(),
            connection_id=row.id,
        )
        session.commit()
        connection_id = row.id
    refreshed = reference.refresh(runtime, actor=actor, connection_id=connection_id)
    if defaults_by_name:
        with runtime.session_factory() as session:
            chosen = _by_name(session, connection_id, defaults_by_name)
            connection_settings.save(
                session,
                runtime.secret_box,
                chosen,
                actor=actor,
                now=runtime.clock(),
                connection_id=connection_id,
            )
            session.commit()
    return Connected(connection_id, refreshed)


def _by_name(session: Any, connection_id: int, wanted: Mapping[str, str]) -> dict[str, int]:
    lists = reference.options(session, connection_id)
    chosen = {}
    for setting, name in wanted.items():
        category = connection_settings.DEFAULT_FIELDS[setting]
        match = next((v for v in lists.get(category, []) if v.active and v.name == name), None)
        if match is not None:
            chosen[setting] = int(match.value_id)
    return chosen


@dataclass
class MappedByName:
    mapped: list[str] = field(default_factory=list)  # customers mapped just now
    already: list[str] = field(default_factory=list)  # mapped before: left as they were
    unmatched: list[str] = field(default_factory=list)  # no company of that exact name


def map_by_name(
    runtime: Runtime,
    companies: Mapping[str, str | None],
    *,
    actor: str,
    connection_id: int | None = None,
) -> MappedByName:
    """Map each active customer named in ``companies`` that has no mapping in the connection
    (None: the ticketing default) to the active company of exactly the name given for it
    (None: leave it unmapped), through the same audited path an operator's click takes. A
    mapping made earlier, by anyone, is never changed. Raises IntegrationUnavailable or
    ConnectorError when the PSA cannot be asked."""
    result = MappedByName()
    with runtime.session_factory() as session:
        connection_id = named.resolved_id(session, connection_id)
        existing = mapping.mappings(session, connection_id)
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
        found = mapping.search_companies(runtime, wanted, connection_id=connection_id).items
        match = next((c for c in found if c.name == wanted and c.active), None)
        if match is None:
            result.unmatched.append(name)
            continue
        mapping.map_customer(
            runtime, customer_id, match.id, actor=actor, connection_id=connection_id
        )
        result.mapped.append(name)
    return result
