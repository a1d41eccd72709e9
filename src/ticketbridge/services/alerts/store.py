"""Alert rows: sources, customer mappings, alerts and their occurrences (database only).

Everything here runs in the caller's transaction and sends nothing to Autotask.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ticketbridge.core.alert_dedup import AlertKeys, group_key
from ticketbridge.core.ates_tokens import MAX_VALUE_CHARS
from ticketbridge.services.connections import mapping
from ticketbridge.services.runs.catalog import CatalogError, NotFound
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.system import audit
from ticketbridge.services.tickets.psa import roundtrip_connection
from ticketbridge.storage.models import (
    Alert,
    AlertCustomerMapping,
    AlertOccurrence,
    AlertSource,
)

UNKNOWN_SOURCE = "Unnamed source"
MAX_TITLE = 255
MAX_SUMMARY = 4000


class AlertState(StrEnum):
    NEW = "new"  # recorded; Autotask not asked yet
    WAITING = "waiting"  # no open ticket to join: an operator decides (or must map first)
    CREATING = "creating"  # a ticket is being created for it
    TICKETED = "ticketed"  # ticketbridge created its ticket
    JOINED = "joined"  # it joined an existing ticket
    IGNORED = "ignored"  # an operator ignored it; repeats are still counted on it
    CLOSED = "closed"  # its ticket was completed or deleted: repeats start a new alert


# While an alert is in one of these states, repeats of it are counted on it.
OPEN_STATES = frozenset(s.value for s in AlertState if s is not AlertState.CLOSED)
WITH_TICKET = frozenset((AlertState.TICKETED.value, AlertState.JOINED.value))


class AlertNotFound(NotFound):
    """No such alert, source or mapping (answered 404)."""


class AlertError(CatalogError):
    """Bad input for an alert action (answered 422, naming the field)."""


class CreateRule(StrEnum):
    OPERATOR = "operator"  # new alerts wait for an operator's decision (the default)
    AUTOMATIC = "automatic"  # a ticket is created as soon as no open ticket can be joined


_UNSTORABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def storable(text: str | None, limit: int) -> str | None:
    """Text as a database can keep it: no control characters (but tab and line breaks), no
    lone surrogates (PostgreSQL refuses both), at most ``limit`` characters."""
    if text is None:
        return None
    return _UNSTORABLE.sub("", text)[:limit]


def source_key(name: str) -> str:
    return re.sub(r"\s+", " ", name).strip().casefold()[:MAX_VALUE_CHARS]


def udf_names(source: AlertSource) -> tuple[str, str, str]:
    """The Autotask UDFs for the source's devices, alerts and tickets (seed 003's names)."""
    return (
        source.device_udf or f"{source.name} Device ID",
        source.alert_udf or f"{source.name} Alert ID",
        source.ticket_udf or f"{source.name} Ticket ID",
    )


def ensure_source(session: Session, name: str, *, now: datetime) -> AlertSource:
    """The source a token names, added (rule: operator) the first time it is seen."""
    name = re.sub(r"\s+", " ", name).strip()[:MAX_VALUE_CHARS] or UNKNOWN_SOURCE
    key = source_key(name)
    found = session.scalars(select(AlertSource).where(AlertSource.name_key == key)).first()
    if found is not None:
        return found
    source = AlertSource(
        name=name, name_key=key, create_rule=CreateRule.OPERATOR.value, created_at=now
    )
    try:
        with session.begin_nested():
            session.add(source)
            session.flush()
    except IntegrityError:  # another mail of the same new source was first
        return session.scalars(select(AlertSource).where(AlertSource.name_key == key)).one()
    return source


def get_source(session: Session, source_id: int) -> AlertSource:
    source = session.get(AlertSource, source_id)
    if source is None:
        raise AlertNotFound(f"alert source {source_id} does not exist")
    return source


def find_source(session: Session, name: str) -> AlertSource | None:
    key = source_key(name or UNKNOWN_SOURCE)
    return session.scalars(select(AlertSource).where(AlertSource.name_key == key)).first()


def mapped_customer(session: Session, source_id: int, customer_ref: str | None) -> int | None:
    if not customer_ref:
        return None
    return session.scalar(
        select(AlertCustomerMapping.customer_id).where(
            AlertCustomerMapping.source_id == source_id,
            AlertCustomerMapping.customer_ref == customer_ref,
        )
    )


def company_of(session: Session, customer_id: int | None) -> int | None:
    """The Autotask company the customer is mapped to (Settings > Integrations), if any."""
    if customer_id is None:
        return None
    return mapping.mapping_for_customer(
        session, customer_id, roundtrip_connection(session)
    ).company_id


def keys_of(alert: Alert) -> AlertKeys:
    return AlertKeys(
        source_id=alert.source_id,
        company_id=alert.company_id,
        customer_ref=alert.customer_ref,
        alert_ref=alert.alert_ref,
        ticket_ref=alert.ticket_ref,
    )


def get(session: Session, alert_id: int) -> Alert:
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise AlertNotFound(f"alert {alert_id} does not exist")
    return alert


def open_alert(session: Session, key: str | None) -> Alert | None:
    if key is None:
        return None
    return session.scalars(select(Alert).where(Alert.open_key == key)).first()


def add_occurrence(
    session: Session,
    alert: Alert,
    *,
    seen_at: datetime,
    subject: str,
    mail_id: int | None,
    noted: bool = False,
) -> None:
    """Count one more mail (or report) of the alert."""
    session.add(
        AlertOccurrence(
            alert_id=alert.id,
            mail_id=mail_id,
            seen_at=seen_at,
            subject=subject[:500],
            noted_at=seen_at if noted else None,
        )
    )
    alert.count = (alert.count or 0) + 1
    if seen_at >= alert.last_seen_at:
        alert.last_seen_at = seen_at
        alert.last_mail_id = mail_id if mail_id is not None else alert.last_mail_id
    alert.first_seen_at = min(alert.first_seen_at, seen_at)


def occurrence_of_mail(session: Session, mail_id: int) -> AlertOccurrence | None:
    return session.scalars(
        select(AlertOccurrence).where(AlertOccurrence.mail_id == mail_id)
    ).first()


def unnoted(session: Session, alert_id: int) -> list[AlertOccurrence]:
    return list(
        session.scalars(
            select(AlertOccurrence)
            .where(AlertOccurrence.alert_id == alert_id, AlertOccurrence.noted_at.is_(None))
            .order_by(AlertOccurrence.seen_at, AlertOccurrence.id)
        )
    )


def occurrences(session: Session, alert_id: int, limit: int = 50) -> list[AlertOccurrence]:
    return list(
        session.scalars(
            select(AlertOccurrence)
            .where(AlertOccurrence.alert_id == alert_id)
            .order_by(AlertOccurrence.seen_at.desc(), AlertOccurrence.id.desc())
            .limit(limit)
        )
    )


def ids_in_state(session: Session, states: Sequence[str], limit: int = 500) -> list[int]:
    return list(
        session.scalars(
            select(Alert.id).where(Alert.state.in_(states)).order_by(Alert.id).limit(limit)
        )
    )


def with_pending_notes(session: Session, limit: int = 500) -> list[int]:
    """Alerts with a ticket and occurrences no note named yet."""
    return list(
        session.scalars(
            select(Alert.id)
            .join(AlertOccurrence, AlertOccurrence.alert_id == Alert.id)
            .where(Alert.state.in_(WITH_TICKET), AlertOccurrence.noted_at.is_(None))
            .group_by(Alert.id)
            .order_by(Alert.id)
            .limit(limit)
        )
    )


def counts_by_state(session: Session) -> dict[str, int]:
    rows = session.execute(select(Alert.state, func.count(Alert.id)).group_by(Alert.state))
    return {state: int(count) for state, count in rows}


def merge_into(session: Session, alert: Alert, target: Alert) -> None:
    """Move ``alert``'s occurrences onto ``target`` (an open alert with the same key) and close
    ``alert``: two alerts recorded before their customer was mapped turned out to be one."""
    for occurrence in session.scalars(
        select(AlertOccurrence).where(AlertOccurrence.alert_id == alert.id)
    ):
        occurrence.alert_id = target.id
    target.count += alert.count
    target.first_seen_at = min(target.first_seen_at, alert.first_seen_at)
    if alert.last_seen_at > target.last_seen_at:
        target.last_seen_at, target.last_mail_id = alert.last_seen_at, alert.last_mail_id
    alert.state = AlertState.CLOSED.value
    alert.open_key = None
    alert.count = 0
    alert.reason = f"Merged into alert {target.id}."


def close(session: Session, alert: Alert, reason: str, *, now: datetime) -> Alert | None:
    """End an alert whose ticket is gone or complete. Occurrences no note named yet move to a
    new alert (state ``new``), which takes over the key: they are a new incident. Returns it."""
    pending = unnoted(session, alert.id)
    alert.state = AlertState.CLOSED.value
    alert.open_key = None
    alert.reason = reason
    if not pending:
        return None
    successor = Alert(
        source_id=alert.source_id,
        state=AlertState.NEW.value,
        customer_ref=alert.customer_ref,
        customer_name=alert.customer_name,
        device_ref=alert.device_ref,
        alert_ref=alert.alert_ref,
        ticket_ref=alert.ticket_ref,
        customer_id=alert.customer_id,
        company_id=alert.company_id,
        title=alert.title,
        summary=alert.summary,
        reason=f"Repeats of alert {alert.id}, whose ticket ended. Not correlated yet.",
        count=len(pending),
        first_seen_at=pending[0].seen_at,
        last_seen_at=pending[-1].seen_at,
        first_mail_id=pending[0].mail_id,
        last_mail_id=pending[-1].mail_id,
        create_attempts=0,
    )
    session.add(successor)
    session.flush()  # the old key is released before the new alert takes it
    successor.open_key = group_key(keys_of(successor))
    for occurrence in pending:
        occurrence.alert_id = successor.id
    alert.count -= len(pending)
    session.flush()
    return successor


def audit_event(
    runtime: Runtime, actor: str, action: str, alert_id: int, outcome: str, **details: Any
) -> None:
    with runtime.session_factory() as session:
        audit.record(
            session, actor=actor, action=f"alert.{action}", subject=f"alert {alert_id}",
            outcome=outcome, details=details,
        )  # fmt: skip
        session.commit()
