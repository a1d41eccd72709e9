"""Customers and jobs."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from ticketbridge.core.names import problem
from ticketbridge.services.system import audit
from ticketbridge.storage.db import add_or_rename
from ticketbridge.storage.models import Customer, Job
from ticketbridge.storage.models.catalog import CUSTOMER_KEY_LENGTH


class CatalogError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class NotFound(LookupError):
    pass


def list_customers(session: Session, *, include_inactive: bool = True) -> list[Customer]:
    query = select(Customer).order_by(Customer.name)
    if not include_inactive:
        query = query.where(Customer.active.is_(True))
    return list(session.scalars(query))


def get_customer(session: Session, customer_id: int) -> Customer:
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(f"customer {customer_id} does not exist")
    return customer


def _check_name(session: Session, name: str, own_id: int | None = None) -> str:
    """The name to store; refused when it is empty, too long, holds invisible or control
    characters, or is another customer's name once normalised (core/names.py)."""
    name = name.strip()
    if not name or len(name) > 200:
        raise CatalogError("name", "a name of 1 to 200 characters is required")
    trouble = problem(name, key_length=CUSTOMER_KEY_LENGTH)
    if trouble:
        raise CatalogError("name", trouble)
    clash = session.scalar(select(Customer).where(Customer.name_key == Customer.key_for(name)))
    if clash is not None and clash.id != own_id:
        raise CatalogError("name", f"a customer named {clash.name!r} exists already")
    return name


def _write_name(session: Session, customer: Customer, name: str) -> None:
    if not add_or_rename(session, customer, name):
        raise CatalogError("name", f"a customer named {name!r} exists already")


def create_customer(session: Session, name: str, *, actor: str, active: bool = True) -> Customer:
    customer = Customer(name=_check_name(session, name), active=active)
    _write_name(session, customer, customer.name)
    audit.record(
        session,
        actor=actor,
        action="customer.create",
        subject=f"customer {customer.id}",
        details={"name": customer.name},
    )
    return customer


def update_customer(
    session: Session,
    customer_id: int,
    *,
    actor: str,
    name: str | None = None,
    active: bool | None = None,
) -> Customer:
    customer = get_customer(session, customer_id)
    changes: dict[str, object] = {}
    if name is not None and name.strip() != customer.name:
        changes["name"] = [customer.name, _check_name(session, name, customer.id)]
        _write_name(session, customer, name.strip())
    if active is not None and active != customer.active:
        changes["active"] = [customer.active, active]
        customer.active = active
    if changes:
        audit.record(
            session,
            actor=actor,
            action="customer.update",
            subject=f"customer {customer.id}",
            details=changes,
        )
    return customer


def delete_customer(session: Session, customer_id: int, *, actor: str) -> None:
    """Only a customer without jobs can go; one with history is deactivated instead."""
    customer = get_customer(session, customer_id)
    if session.scalar(select(func.count(Job.id)).where(Job.customer_id == customer_id)):
        raise CatalogError("id", "this customer has jobs and run history: deactivate it instead")
    session.delete(customer)
    audit.record(
        session,
        actor=actor,
        action="customer.delete",
        subject=f"customer {customer_id}",
        details={"name": customer.name},
    )


def list_jobs(session: Session, *, customer_id: int | None = None) -> list[Job]:
    query = select(Job).options(joinedload(Job.customer)).join(Job.customer)
    if customer_id is not None:
        query = query.where(Job.customer_id == customer_id)
    return list(session.scalars(query.order_by(Customer.name, Job.job_name)))


def get_job(session: Session, job_id: int) -> Job:
    job = session.scalars(
        select(Job).options(joinedload(Job.customer)).where(Job.id == job_id)
    ).first()
    if job is None:
        raise NotFound(f"job {job_id} does not exist")
    return job
