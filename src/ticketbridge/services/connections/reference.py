"""A connection's reference data (queues, sources, statuses, priorities, note types, ...).

A refresh asks the connector once (one request when the zone and the note metadata are cached,
see docs/connector-autotask.md) and stores every value with the sync time. Values that vanish
or are deactivated in Autotask are kept and marked inactive, so a default chosen earlier can
still be shown and flagged. On the first load, unset ticket defaults are pre-selected by name
where Autotask has those names (design §7.3).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ticketbridge.connectors.errors import ConnectorError
from ticketbridge.connectors.psa.base import PicklistValue, ReferenceData
from ticketbridge.core.psa_governor import Priority
from ticketbridge.services.connections import active as active_connection
from ticketbridge.services.connections import named
from ticketbridge.services.connections import settings as integration_settings
from ticketbridge.services.connections.settings import ConnectionSettings
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.system import audit
from ticketbridge.storage.models import ReferenceValue

# Stored category -> ReferenceData attribute.
CATEGORIES: dict[str, str] = {
    "queue": "queues",
    "source": "sources",
    "status": "statuses",
    "priority": "priorities",
    "note_type": "note_types",
    "publish": "publish_values",
}
# Design §7.3: the names pre-selected when they exist.
PRESELECT_BY_NAME: dict[str, tuple[str, str]] = {
    "default_queue_id": ("queue", "Helpdesk"),
    "default_source_id": ("source", "Monitoring Alert"),
    "default_status_id": ("status", "New"),
    "priority_warning_id": ("priority", "Medium"),
    "priority_error_id": ("priority", "High"),
}


@dataclass(frozen=True)
class RefreshResult:
    counts: dict[str, int]
    synced_at: datetime
    preselected: dict[str, int] = field(default_factory=dict)


def refresh(runtime: Runtime, *, actor: str, connection_id: int | None = None) -> RefreshResult:
    """Fetch and store the connection's reference lists (None: the ticketing default's);
    audited either way. Raises IntegrationUnavailable (nothing sent) or ConnectorError (after
    auditing the failure)."""
    with runtime.session_factory() as session:
        row = named.find(session, connection_id)
        subject = f"connection {row.id if row else connection_id}"
        action = f"{row.kind if row else 'psa'}.reference.refresh"
        try:
            with active_connection.active(
                runtime, session, connection_id, priority=Priority.OPERATOR
            ) as psa:
                data = psa.connector.reference_data()
        except (ConnectorError, active_connection.IntegrationUnavailable) as exc:
            session.rollback()
            active_connection.record_failure(
                runtime, actor=actor, action=action, exc=exc, subject=subject
            )
            raise
        now = runtime.clock()
        result = store(session, data, now, psa.connection_id)
        audit.record(
            session,
            actor=actor,
            action=action,
            subject=subject,
            details={"counts": result.counts, "preselected": result.preselected},
        )
        session.commit()
        return result


def store(
    session: Session, data: ReferenceData, now: datetime, connection_id: int
) -> RefreshResult:
    """Upsert every value; values absent from ``data`` stay, marked inactive."""
    existing = {
        (row.category, int(row.value_id)): row
        for row in session.scalars(
            select(ReferenceValue).where(ReferenceValue.connection_id == connection_id)
        )
    }
    counts: dict[str, int] = {}
    seen: set[tuple[str, int]] = set()
    for category, attribute in CATEGORIES.items():
        values: Sequence[PicklistValue] = getattr(data, attribute)
        counts[category] = len(values)
        for value in values:
            key = (category, value.id)
            seen.add(key)
            row = existing.get(key)
            if row is None:
                row = ReferenceValue(
                    connection_id=connection_id, category=category, value_id=value.id
                )
                session.add(row)
            row.name = value.name[:300]
            row.value_group = value.category
            row.active = value.active
            row.is_default = value.is_default
            row.sort_order = value.order
            row.synced_at = now
    for key, row in existing.items():
        if key not in seen:
            row.active = False
            row.is_default = False
    integration_settings.mark_reference_synced(session, connection_id, now)
    session.flush()
    settings = integration_settings.load(session, connection_id).settings
    preselected = _preselect(session, settings, connection_id)
    integration_settings.set_defaults(session, connection_id, preselected)
    return RefreshResult(counts, now, preselected)


def _preselect(
    session: Session, settings: ConnectionSettings, connection_id: int
) -> dict[str, int]:
    chosen: dict[str, int] = {}
    lists = options(session, connection_id)
    for setting, (category, name) in PRESELECT_BY_NAME.items():
        if getattr(settings, setting) is not None:
            continue
        wanted = name.casefold()
        for value in lists.get(category, []):
            if value.active and value.name.strip().casefold() == wanted:
                chosen[setting] = int(value.value_id)
                break
    return chosen


def options(session: Session, connection_id: int | None = None) -> dict[str, list[ReferenceValue]]:
    """Stored values per category, in the PSA's order (inactive ones included, marked), of the
    connection (None: the ticketing default)."""
    rows = session.scalars(
        select(ReferenceValue)
        .where(ReferenceValue.connection_id == named.resolved_id(session, connection_id))
        .order_by(ReferenceValue.category, ReferenceValue.sort_order, ReferenceValue.value_id)
    )
    grouped: dict[str, list[ReferenceValue]] = {category: [] for category in CATEGORIES}
    for row in rows:
        grouped.setdefault(row.category, []).append(row)
    return grouped


def counts(session: Session, connection_id: int | None = None) -> dict[str, int]:
    return {category: len(values) for category, values in options(session, connection_id).items()}
