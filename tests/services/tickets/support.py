"""A product runtime wired to the Autotask emulator and ready for ticket work: settings saved,
reference data loaded, ticket defaults chosen, one customer mapped, runs to ticket."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import NOW
from tests.services.autotask_world import AutotaskWorld, configure
from ticketbridge.services.connections import mapping, reference
from ticketbridge.services.connections import settings as integration_settings
from ticketbridge.services.runs import catalog
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.tickets import store
from ticketbridge.storage.models import AuditEvent, TicketLinkRow

BRIGHTWATER = 102  # "Brightwater Dental" in the emulator's demo tenant
BACKUP_QUEUE = 29682969
DEFAULTS = {
    "default_queue_id": BACKUP_QUEUE,
    "default_status_id": 1,  # New
    "priority_warning_id": 2,  # Medium
    "priority_error_id": 1,  # High
    "allow_resolve": True,
}


@dataclass
class Clock:
    now: datetime = NOW
    ticks: list[datetime] = field(default_factory=list)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def prepare(runtime: Runtime, db: sessionmaker[Session], **settings: Any) -> int:
    """Configure the integration and map the runs' customer; the customer id."""
    configure(runtime)
    reference.refresh(runtime, actor="test")
    with runtime.session_factory() as session:
        integration_settings.save(
            session, runtime.secret_box, DEFAULTS | settings, actor="test", now=NOW, kind="autotask"
        )
        session.commit()
    with db() as session:
        customer = catalog.create_customer(session, "Acme Logistics", actor="test")
        session.commit()
        customer_id = customer.id
    mapping.map_customer(runtime, customer_id, BRIGHTWATER, actor="test")
    return customer_id


def links(runtime: Runtime, run_id: int) -> list[TicketLinkRow]:
    with runtime.session_factory() as session:
        return store.history(session, run_id)


def current(runtime: Runtime, run_id: int) -> TicketLinkRow | None:
    with runtime.session_factory() as session:
        return store.current(session, run_id)


def audits(runtime: Runtime, action: str) -> list[AuditEvent]:
    with runtime.session_factory() as session:
        return list(
            session.scalars(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
            )
        )


def emulator_tickets(world: AutotaskWorld, reference: str | None = None) -> list[dict[str, Any]]:
    """Tickets in the emulator carrying our references (or one reference)."""
    store_ = world.transport.app.state.emulator.store  # type: ignore[attr-defined]
    rows = store_.tables["tickets"].values()
    return [
        row
        for row in rows
        if str(row.get("externalID") or "").startswith("run-")
        and (reference is None or row.get("externalID") == reference)
    ]


def api_requests(world: AutotaskWorld, since: int = 0) -> list[str]:
    return [f"{r['method']} {r['path']}" for r in world.requests() if r["seq"] > since]


def last_seq(world: AutotaskWorld) -> int:
    found = world.requests()
    return found[-1]["seq"] if found else 0


Action = Callable[[], Any]


def log_time(world: AutotaskWorld, ticket_id: int, hours: float = 0.5) -> None:
    world.admin(
        "POST",
        "time-entries",
        {"ticketID": ticket_id, "resourceID": 31, "roleID": 29683400, "hoursWorked": hours},
    )


def delete_ticket(world: AutotaskWorld, ticket_id: int) -> None:
    world.admin("DELETE", f"tickets/{ticket_id}")


def notes_of(world: AutotaskWorld, ticket_id: int) -> list[dict[str, Any]]:
    store_ = world.transport.app.state.emulator.store  # type: ignore[attr-defined]
    return [n for n in store_.tables["ticketnotes"].values() if n.get("ticketID") == ticket_id]


def ticket_row(world: AutotaskWorld, ticket_id: int) -> dict[str, Any] | None:
    store_ = world.transport.app.state.emulator.store  # type: ignore[attr-defined]
    found: dict[str, Any] | None = store_.tables["tickets"].get(ticket_id)
    return found
