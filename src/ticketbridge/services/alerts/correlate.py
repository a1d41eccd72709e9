"""Correlate a new alert with Autotask: customer, company, device, and the open ticket it joins.

1. **Customer**: the source's mapping of the token's CustomerID (Alerts > Sources, the
   equivalent of the "<source> Customer ID" organization UDF); then the customer's Autotask
   company (Settings > Integrations > Autotask). Without either the alert waits, saying which
   mapping is missing; adding the mapping sends its waiting alerts back here.
2. **Device**: configuration items whose "<source> Device ID" UDF holds the DeviceID (one
   query, cached a day, an hour when none was found); only an item of the alert's company.
3. **Open ticket**: tickets of the company whose "<source> Alert ID" UDF (or, without an Alert
   ID, "<source> Ticket ID") holds the alert's value; core.alert_dedup picks the oldest open one.
   Found: the alert joins it and its first note is sent. None: the alert waits for an operator,
   or, when the source's rule is automatic, its ticket is created at once.

Autotask is asked outside any transaction. An integration that is disabled or unreachable
leaves the alert ``new`` with the reason; the periodic job (alerts.process) tries again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ticketbridge.connectors.errors import ConnectorError, ConnectorUnavailable
from ticketbridge.connectors.psa.base import PsaConnector, RemoteTicket
from ticketbridge.core.alert_dedup import (
    AlertKeys,
    CandidateTicket,
    DedupKind,
    DeviceCandidate,
    choose_device,
    choose_ticket,
    group_key,
)
from ticketbridge.core.psa_governor import Priority
from ticketbridge.services.alerts import notes, store, ticketing
from ticketbridge.services.alerts.store import AlertState, CreateRule
from ticketbridge.services.connections import active as active_connection
from ticketbridge.services.connections.active import ActiveConnection, IntegrationUnavailable
from ticketbridge.services.runs import catalog
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.tickets.psa import roundtrip_connection
from ticketbridge.services.tickets.store import TicketError
from ticketbridge.storage.models import Alert, AlertDevice

DEVICE_CACHE = timedelta(days=1)
DEVICE_CACHE_NONE = timedelta(hours=1)


@contextmanager
def autotask_for(
    runtime: Runtime, session: Session, priority: Priority
) -> Iterator[ActiveConnection]:
    """A connector; the session's transaction is ended first (no connection held while
    Autotask answers). Raises IntegrationUnavailable before anything is sent."""
    with active_connection.active(
        runtime, session, roundtrip_connection(session), priority=priority
    ) as autotask:
        session.commit()
        yield autotask


@dataclass(frozen=True)
class Lookup:
    """What correlation learnt from Autotask."""

    device: DeviceCandidate | None
    device_reason: str
    candidates: tuple[CandidateTicket, ...]


def devices(
    runtime: Runtime, connector: PsaConnector, source_id: int, udf: str, device_ref: str
) -> list[DeviceCandidate]:
    """Configuration items carrying the DeviceID, from the cache while it is fresh."""
    now = runtime.clock()
    with runtime.session_factory() as session:
        cached = _cached(session, source_id, device_ref)
        if cached is not None:
            fresh = DEVICE_CACHE if cached.items else DEVICE_CACHE_NONE
            if now < cached.looked_up_at + fresh:
                return [_device(item) for item in cached.items]
    found = connector.find_configuration_items(udf, device_ref)
    items = [
        {"id": d.id, "company_id": d.company_id, "name": d.name, "active": d.active} for d in found
    ]
    with runtime.session_factory() as session:
        row = _cached(session, source_id, device_ref)
        if row is None:
            row = AlertDevice(
                source_id=source_id, device_ref=device_ref, items=items, looked_up_at=now
            )
            session.add(row)
        else:
            row.items, row.looked_up_at = items, now
        try:
            session.commit()
        except IntegrityError:  # another correlation cached it first
            session.rollback()
    return [_device(item) for item in items]


def _device(item: dict[str, Any]) -> DeviceCandidate:
    company = item.get("company_id")
    return DeviceCandidate(
        id=int(item["id"]),
        company_id=int(company) if company is not None else None,
        name=str(item.get("name") or ""),
        active=bool(item.get("active", True)),
    )


def _cached(session: Session, source_id: int, device_ref: str) -> AlertDevice | None:
    return session.scalars(
        select(AlertDevice).where(
            AlertDevice.source_id == source_id, AlertDevice.device_ref == device_ref
        )
    ).first()


def open_tickets(
    connector: PsaConnector, keys: AlertKeys, alert_udf: str, ticket_udf: str
) -> tuple[CandidateTicket, ...]:
    """Tickets of the alert's company carrying its Alert ID (else Ticket ID) UDF."""
    dedup = keys.dedup
    if dedup is None or keys.company_id is None:
        return ()
    udf = alert_udf if dedup[0] is DedupKind.ALERT else ticket_udf
    found = connector.find_tickets_by_udf(udf, dedup[1], company_id=keys.company_id)
    by_alert = dedup[0] is DedupKind.ALERT
    return tuple(
        CandidateTicket(
            id=t.id,
            number=t.number,
            company_id=t.company_id,
            alert_ref=dedup[1] if by_alert else None,
            ticket_ref=None if by_alert else dedup[1],
            completed=t.is_completed,
        )
        for t in found
    )


def look_up(
    runtime: Runtime, connector: PsaConnector, source_id: int, udfs: tuple[str, str, str],
    keys: AlertKeys, device_ref: str | None,
) -> Lookup:  # fmt: skip
    device, why = None, "The alert names no device."
    if device_ref:
        try:
            found = devices(runtime, connector, source_id, udfs[0], device_ref)
        except ConnectorUnavailable:
            raise
        except ConnectorError as exc:  # a missing device UDF must not stop the alert
            found, why = [], f"Devices could not be searched: {exc.message}"
        else:
            choice = choose_device(device_ref, keys.company_id, found)
            device, why = choice.device, choice.reason
    return Lookup(device, why, open_tickets(connector, keys, udfs[1], udfs[2]))


def _refresh_customer(session: Session, alert_id: int) -> bool:
    """Take up mappings made since the alert was recorded. False: another open alert has the
    key its company now gives it, and it was merged into that one (and closed)."""
    alert = store.get(session, alert_id)
    if alert.customer_id is None:
        alert.customer_id = store.mapped_customer(session, alert.source_id, alert.customer_ref)
    alert.company_id = store.company_of(session, alert.customer_id)
    key = group_key(store.keys_of(alert))
    holder = store.open_alert(session, key)
    if holder is not None and holder.id != alert.id:
        store.merge_into(session, alert, holder)
        return False
    alert.open_key = key
    return True


def correlate(runtime: Runtime, alert_id: int, *, priority: Priority = Priority.BACKGROUND) -> str:
    """Correlate a ``new`` alert (anything else is left alone); returns its state after."""
    with runtime.session_factory() as session:
        state = store.get(session, alert_id).state
        if state != AlertState.NEW.value:
            return state
        if not _refresh_customer(session, alert_id):
            session.commit()
            return AlertState.CLOSED.value
        alert = store.get(session, alert_id)
        source = store.get_source(session, alert.source_id)
        missing = _missing_mapping(session, alert, source.name)
        if missing is not None:
            alert.state, alert.reason = AlertState.WAITING.value, missing
            session.commit()
            return alert.state
        keys, device_ref = store.keys_of(alert), alert.device_ref
        udfs, rule = store.udf_names(source), source.create_rule
        try:
            with autotask_for(runtime, session, priority) as autotask:
                lookup = look_up(runtime, autotask.connector, source.id, udfs, keys, device_ref)
        except IntegrationUnavailable as exc:
            return _stay_new(runtime, alert_id, f"Autotask was not asked: {exc.message}")
        except ConnectorUnavailable as exc:
            return _stay_new(runtime, alert_id, f"Autotask is unavailable ({exc.message}).")
        except ConnectorError as exc:
            return _wait(runtime, alert_id, f"Autotask could not be searched: {exc.message}")
    return _decide(runtime, alert_id, keys, lookup, rule)


def _missing_mapping(session: Session, alert: Alert, source: str) -> str | None:
    customer_id, customer_ref = alert.customer_id, alert.customer_ref
    if customer_id is None:
        if not customer_ref:
            return f"The token names no CustomerID: map it by hand or add one at {source}."
        return (
            f"CustomerID {customer_ref!r} of {source} is not mapped to a customer "
            "(Alerts > Sources)."
        )
    if alert.company_id is None:
        name = catalog.get_customer(session, customer_id).name
        return f"Customer {name!r} is not mapped to an Autotask company."
    return None


def _decide(runtime: Runtime, alert_id: int, keys: AlertKeys, lookup: Lookup, rule: str) -> str:
    decision = choose_ticket(keys, lookup.candidates)
    with runtime.session_factory() as session:
        alert = store.get(session, alert_id)
        if alert.state != AlertState.NEW.value:
            return alert.state
        if lookup.device is not None:
            alert.ci_id, alert.ci_name = lookup.device.id, lookup.device.name[:255]
        alert.correlated_at = runtime.clock()
        alert.reason = decision.reason
        if decision.ticket is None:
            alert.state = AlertState.WAITING.value
            if rule != CreateRule.AUTOMATIC.value:
                alert.reason += " An operator decides: create a ticket, join one, or ignore."
        session.commit()
    if decision.ticket is not None:
        found = decision.ticket
        ticket = RemoteTicket(found.id, found.number, None, "", found.company_id, "")
        ticketing.attach(runtime, alert_id, ticket, actor="system", reason=decision.reason)
        _quietly(lambda: notes.send_notes(runtime, alert_id))
        return AlertState.JOINED.value
    if rule == CreateRule.AUTOMATIC.value:
        _quietly(lambda: ticketing.create(runtime, alert_id, actor="system (automatic rule)"))
    with runtime.session_factory() as session:
        return store.get(session, alert_id).state


def _quietly(action: Callable[[], object]) -> None:
    """A background step whose failure is already recorded on the alert and audited."""
    with suppress(TicketError, ConnectorError, IntegrationUnavailable):
        action()


def _stay_new(runtime: Runtime, alert_id: int, reason: str) -> str:
    with runtime.session_factory() as session:
        alert = store.get(session, alert_id)
        alert.reason = reason[:2000]
        session.commit()
        return alert.state


def _wait(runtime: Runtime, alert_id: int, reason: str) -> str:
    with runtime.session_factory() as session:
        alert = store.get(session, alert_id)
        if alert.state == AlertState.NEW.value:
            alert.state, alert.reason = AlertState.WAITING.value, reason[:2000]
        session.commit()
        return alert.state


@dataclass
class ProcessResult:
    correlated: int = 0
    settled: int = 0
    notes: int = 0


def process_pending(runtime: Runtime, *, now: datetime | None = None) -> ProcessResult:
    """The periodic job: correlate new alerts, settle pending creates, send due notes. Items
    fail one by one; nothing is sent while the integration is disabled."""
    result = ProcessResult()
    with runtime.session_factory() as session:
        new = store.ids_in_state(session, [AlertState.NEW.value])
        creating = store.ids_in_state(session, [AlertState.CREATING.value])
        noting = store.with_pending_notes(session)
    for alert_id in new:
        if correlate(runtime, alert_id) != AlertState.NEW.value:
            result.correlated += 1
    for alert_id in creating:
        try:
            ticketing.settle(runtime, alert_id, actor="system")
            result.settled += 1
        except TicketError:
            pass
    for alert_id in noting:
        with suppress(TicketError, ConnectorError):
            result.notes += notes.send_notes(runtime, alert_id)
    return result
