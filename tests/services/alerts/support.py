"""The product wired to the Autotask emulator for alerts: UDFs defined, a device, a source
with its CustomerID mapped to a customer whose company is Brightwater Dental (102)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.services.alerts.mails import SOURCE
from tests.services.autotask_world import AutotaskWorld
from ticketbridge.emulators.autotask import DEMO_API_SECRET, DEMO_API_USER, DEMO_INTEGRATION_CODE
from ticketbridge.services.alerts import correlate, sources
from ticketbridge.services.mail import intake as mail_intake
from ticketbridge.services.runtime import Runtime
from ticketbridge.storage.db import session_scope
from ticketbridge.storage.models import Alert, AlertOccurrence, AuditEvent

BRIGHTWATER = 102
COBALT = 103  # another demo company
DEVICE_UDF = f"{SOURCE} Device ID"
ALERT_UDF = f"{SOURCE} Alert ID"
TICKET_UDF = f"{SOURCE} Ticket ID"
API = "/ATServicesRest/V1.0"
HEADERS = {
    "ApiIntegrationCode": DEMO_INTEGRATION_CODE,
    "UserName": DEMO_API_USER,
    "Secret": DEMO_API_SECRET,
}


def define_udfs(world: AutotaskWorld) -> None:
    world.admin("POST", "udfs/tickets", {"name": ALERT_UDF})
    world.admin("POST", "udfs/tickets", {"name": TICKET_UDF})
    world.admin("POST", "udfs/configurationitems", {"name": DEVICE_UDF})


def add_device(world: AutotaskWorld, company_id: int, device_ref: str, name: str) -> int:
    response = world.http.post(
        f"{API}/ConfigurationItems",
        headers=HEADERS,
        json={
            "companyID": company_id,
            "configurationItemCategoryID": 101,
            "productID": 1,
            "isActive": True,
            "referenceTitle": name,
            "userDefinedFields": [{"name": DEVICE_UDF, "value": device_ref}],
        },
    )
    assert response.is_success, response.text
    return int(response.json()["itemId"])


def add_ticket(world: AutotaskWorld, company_id: int, **udfs: str) -> dict[str, Any]:
    """A ticket made outside ticketbridge (by hand, or by Autotask's own mail service)."""
    response = world.http.post(
        f"{API}/Tickets",
        headers=HEADERS,
        json={
            "companyID": company_id,
            "title": "Made in Autotask",
            "status": 1,
            "priority": 2,
            "queueID": 29682969,
            "userDefinedFields": [
                {"name": {"alert": ALERT_UDF, "ticket": TICKET_UDF}[k], "value": v}
                for k, v in udfs.items()
            ],
        },
    )
    assert response.is_success, response.text
    row = ticket_row(world, int(response.json()["itemId"]))
    assert row is not None
    return row


def complete_ticket(world: AutotaskWorld, ticket_id: int) -> None:
    world.admin("PATCH", f"tickets/{ticket_id}", {"status": 5})


def _store(world: AutotaskWorld) -> Any:
    return world.transport.app.state.emulator.store  # type: ignore[attr-defined]


def ticket_row(world: AutotaskWorld, ticket_id: int) -> dict[str, Any] | None:
    found: dict[str, Any] | None = _store(world).tables["tickets"].get(ticket_id)
    return found


def tickets_with(world: AutotaskWorld, udf: str, value: str) -> list[dict[str, Any]]:
    rows = _store(world).tables["tickets"].values()
    return [r for r in rows if (r.get("userDefinedFields") or {}).get(udf) == value]


def notes_of(world: AutotaskWorld, ticket_id: int) -> list[dict[str, Any]]:
    rows = _store(world).tables["ticketnotes"].values()
    return [n for n in rows if n.get("ticketID") == ticket_id]


def prepare_alerts(world: AutotaskWorld, runtime: Runtime, customer_id: int) -> int:
    """UDFs, device 123 of Brightwater, the source with CustomerID 100 mapped; the source id."""
    define_udfs(world)
    add_device(world, BRIGHTWATER, "123", "BRIGHT-SRV01")
    with session_scope(runtime.session_factory) as session:
        source = sources.create_source(session, SOURCE, actor="test")
        sources.map_customer(session, source.id, "100", customer_id, actor="test")
        source_id = source.id
    return source_id


def deliver(runtime: Runtime, raw: bytes) -> int:
    with session_scope(runtime.session_factory) as session:
        return mail_intake.accept(session, raw, now=runtime.clock()).mail_id


def process(runtime: Runtime) -> correlate.ProcessResult:
    return correlate.process_pending(runtime)


def alerts(runtime: Runtime) -> list[Alert]:
    with runtime.session_factory() as session:
        rows = list(session.scalars(select(Alert).order_by(Alert.id)))
        session.expunge_all()
        return rows


def only_alert(runtime: Runtime) -> Alert:
    [alert] = [a for a in alerts(runtime) if a.state != "closed" or a.count]
    return alert


def occurrences(runtime: Runtime, alert_id: int) -> list[AlertOccurrence]:
    with runtime.session_factory() as session:
        rows = list(
            session.scalars(
                select(AlertOccurrence)
                .where(AlertOccurrence.alert_id == alert_id)
                .order_by(AlertOccurrence.id)
            )
        )
        session.expunge_all()
        return rows


def audit_actions(session: Session) -> list[tuple[str, str]]:
    return [
        (e.action, e.outcome)
        for e in session.scalars(
            select(AuditEvent).where(AuditEvent.action.like("alert.%")).order_by(AuditEvent.id)
        )
    ]
