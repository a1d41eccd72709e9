"""Autotask reference data (queues, sources, statuses, priorities, note types, publish values).

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
from ticketbridge.services.connections import autotask as autotask_connection
from ticketbridge.services.connections import settings as integration_settings
from ticketbridge.services.connections.settings import KIND, SUBJECT, AutotaskSettings
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
ACTION = "autotask.reference.refresh"


@dataclass(frozen=True)
class RefreshResult:
    counts: dict[str, int]
    synced_at: datetime
    preselected: dict[str, int] = field(default_factory=dict)


def refresh(runtime: Runtime, *, actor: str) -> RefreshResult:
    """Fetch and store the reference lists; audited either way. Raises IntegrationUnavailable
    (nothing sent) or ConnectorError (after auditing the failure)."""
    with runtime.session_factory() as session:
        try:
            with autotask_connection.active(
                runtime, session, priority=Priority.OPERATOR
            ) as autotask:
                data = autotask.connector.reference_data()
        except (ConnectorError, autotask_connection.IntegrationUnavailable) as exc:
            session.rollback()
            autotask_connection.record_failure(runtime, actor=actor, action=ACTION, exc=exc)
            raise
        now = runtime.clock()
        result = store(session, data, now)
        audit.record(
            session,
            actor=actor,
            action=ACTION,
            subject=SUBJECT,
            details={"counts": result.counts, "preselected": result.preselected},
        )
        session.commit()
        return result


def store(session: Session, data: ReferenceData, now: datetime) -> RefreshResult:
    """Upsert every value; values absent from ``data`` stay, marked inactive."""
    existing = {
        (row.category, int(row.value_id)): row
        for row in session.scalars(select(ReferenceValue).where(ReferenceValue.kind == KIND))
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
                row = ReferenceValue(kind=KIND, category=category, value_id=value.id)
                session.add(row)
            row.name = value.name[:300]
            row.active = value.active
            row.is_default = value.is_default
            row.sort_order = value.order
            row.synced_at = now
    for key, row in existing.items():
        if key not in seen:
            row.active = False
            row.is_default = False
    integration_settings.mark_reference_synced(session, now)
    session.flush()
    preselected = _preselect(session, integration_settings.load(session).settings)
    integration_settings.set_defaults(session, preselected)
    return RefreshResult(counts, now, preselected)


def _preselect(session: Session, settings: AutotaskSettings) -> dict[str, int]:
    chosen: dict[str, int] = {}
    lists = options(session)
    for setting, (category, name) in PRESELECT_BY_NAME.items():
        if getattr(settings, setting) is not None:
            continue
        wanted = name.casefold()
        for value in lists.get(category, []):
            if value.active and value.name.strip().casefold() == wanted:
                chosen[setting] = int(value.value_id)
                break
    return chosen


def options(session: Session) -> dict[str, list[ReferenceValue]]:
    """Stored values per category, in Autotask's order (inactive ones included, marked)."""
    rows = session.scalars(
        select(ReferenceValue)
        .where(ReferenceValue.kind == KIND)
        .order_by(ReferenceValue.category, ReferenceValue.sort_order, ReferenceValue.value_id)
    )
    grouped: dict[str, list[ReferenceValue]] = {category: [] for category in CATEGORIES}
    for row in rows:
        grouped.setdefault(row.category, []).append(row)
    return grouped


def counts(session: Session) -> dict[str, int]:
    return {category: len(values) for category, values in options(session).items()}
