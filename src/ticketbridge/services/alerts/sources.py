"""Alert sources and their customer mappings (admin; database only).

A source is the partner application a token names (``source="XYZ Monitoring Application"``);
it is added the first time a token names it, or by an admin beforehand. Its mapping table takes
the place of the "<source> Customer ID" organization UDF: CustomerID -> our customer (whose
Autotask company comes from the customer's own mapping). Mapping a CustomerID sends the alerts
that waited for it back to correlation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from ticketbridge.core.ates_tokens import MAX_VALUE_CHARS
from ticketbridge.services.alerts import store
from ticketbridge.services.alerts.store import AlertError, AlertState, CreateRule
from ticketbridge.services.runs import catalog
from ticketbridge.services.system import audit
from ticketbridge.storage.models import (
    Alert,
    AlertCustomerMapping,
    AlertDevice,
    AlertSource,
    Customer,
)
from ticketbridge.storage.models.base import utcnow


@dataclass(frozen=True)
class MappingView:
    id: int
    customer_ref: str
    customer_id: int
    customer_name: str


@dataclass(frozen=True)
class SourceView:
    source: AlertSource
    device_udf: str
    alert_udf: str
    ticket_udf: str
    mappings: tuple[MappingView, ...]
    # CustomerIDs of alerts waiting for a mapping, so the admin sees what to map.
    unmapped: tuple[str, ...]


def _text(value: str | None, field: str) -> str:
    cleaned = re.sub(r"\s+", " ", value or "").strip()
    if not cleaned:
        raise AlertError(field, f"{field.replace('_', ' ')} is required")
    if len(cleaned) > MAX_VALUE_CHARS or cleaned != store.storable(cleaned, MAX_VALUE_CHARS):
        raise AlertError(
            field, f"{field.replace('_', ' ')} is too long or holds control characters"
        )
    return cleaned


def view(session: Session, source: AlertSource) -> SourceView:
    rows = session.execute(
        select(AlertCustomerMapping, Customer.name)
        .join(Customer, Customer.id == AlertCustomerMapping.customer_id)
        .where(AlertCustomerMapping.source_id == source.id)
        .order_by(AlertCustomerMapping.customer_ref)
    ).all()
    unmapped = session.scalars(
        select(Alert.customer_ref)
        .where(
            Alert.source_id == source.id,
            Alert.customer_id.is_(None),
            Alert.customer_ref.is_not(None),
            Alert.state.in_((AlertState.NEW.value, AlertState.WAITING.value)),
        )
        .distinct()
        .order_by(Alert.customer_ref)
        .limit(100)
    )
    device, alert_udf, ticket = store.udf_names(source)
    return SourceView(
        source=source,
        device_udf=device,
        alert_udf=alert_udf,
        ticket_udf=ticket,
        mappings=tuple(MappingView(m.id, m.customer_ref, m.customer_id, name) for m, name in rows),
        unmapped=tuple(
            ref for ref in unmapped if ref and ref not in {m.customer_ref for m, _ in rows}
        ),
    )


def list_sources(session: Session) -> list[SourceView]:
    sources = session.scalars(select(AlertSource).order_by(AlertSource.name_key))
    return [view(session, source) for source in sources]


def create_source(session: Session, name: str, *, actor: str) -> AlertSource:
    name = _text(name, "name")
    if store.find_source(session, name) is not None:
        raise AlertError("name", f"a source named {name!r} exists already")
    source = store.ensure_source(session, name, now=utcnow())
    audit.record(
        session,
        actor=actor,
        action="alert.source.create",
        subject=f"alert source {source.id}",
        details={"name": name},
    )
    return source


def update_source(
    session: Session,
    source_id: int,
    *,
    actor: str,
    create_rule: str | None = None,
    udfs: dict[str, str | None] | None = None,
) -> AlertSource:
    """Change the ticket rule and/or UDF names ("" or None: back to the derived name)."""
    source = store.get_source(session, source_id)
    changes: dict[str, object] = {}
    if create_rule is not None:
        if create_rule not in {rule.value for rule in CreateRule}:
            raise AlertError("create_rule", "create rule must be 'operator' or 'automatic'")
        changes["create_rule"] = create_rule
        source.create_rule = create_rule
    for field, value in (udfs or {}).items():
        if field not in ("device_udf", "alert_udf", "ticket_udf"):
            raise AlertError(field, f"unknown field {field!r}")
        cleaned = _text(value, field) if value and value.strip() else None
        changes[field] = cleaned
        setattr(source, field, cleaned)
        if field == "device_udf":  # devices were looked up by the old field
            session.execute(delete(AlertDevice).where(AlertDevice.source_id == source.id))
    source.updated_by = actor[:200]
    audit.record(
        session,
        actor=actor,
        action="alert.source.update",
        subject=f"alert source {source.id}",
        details=changes,
    )
    return source


def map_customer(
    session: Session, source_id: int, customer_ref: str, customer_id: int, *, actor: str
) -> AlertCustomerMapping:
    """Map the source's CustomerID to a customer (replacing an earlier mapping of it)."""
    source = store.get_source(session, source_id)
    ref = _text(customer_ref, "customer_ref")
    customer = catalog.get_customer(session, customer_id)
    row = session.scalars(
        select(AlertCustomerMapping).where(
            AlertCustomerMapping.source_id == source.id, AlertCustomerMapping.customer_ref == ref
        )
    ).first()
    if row is None:
        row = AlertCustomerMapping(
            source_id=source.id, customer_ref=ref, customer_id=customer.id, created_by=actor[:200]
        )
        session.add(row)
    row.customer_id, row.created_by, row.created_at = customer.id, actor[:200], utcnow()
    session.flush()
    # Alerts that waited for this mapping are correlated again.
    session.execute(
        update(Alert)
        .where(
            Alert.source_id == source.id,
            Alert.customer_ref == ref,
            Alert.customer_id.is_(None),
            Alert.state == AlertState.WAITING.value,
        )
        .values(state=AlertState.NEW.value, reason="Customer mapped; not correlated yet.")
        .execution_options(synchronize_session=False)
    )
    audit.record(
        session, actor=actor, action="alert.mapping.map", subject=f"alert source {source.id}",
        details={"customer_ref": ref, "customer_id": customer.id, "customer": customer.name},
    )  # fmt: skip
    return row


def unmap_customer(session: Session, source_id: int, mapping_id: int, *, actor: str) -> None:
    row = session.get(AlertCustomerMapping, mapping_id)
    if row is None or row.source_id != source_id:
        raise store.AlertNotFound(
            f"mapping {mapping_id} of alert source {source_id} does not exist"
        )
    details = {"customer_ref": row.customer_ref, "customer_id": row.customer_id}
    session.delete(row)
    audit.record(
        session,
        actor=actor,
        action="alert.mapping.unmap",
        subject=f"alert source {source_id}",
        details=details,
    )
