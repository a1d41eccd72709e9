from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from ticketbridge.services.runs import catalog
from ticketbridge.web.api.schemas import ERROR_RESPONSES, CustomerOut, Id, IdFilter, JobOut
from ticketbridge.web.deps import ApiAdmin, ApiReader, DbSession

router = APIRouter(tags=["customers"], responses=ERROR_RESPONSES)


class CustomerIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    active: bool = True


class CustomerPatch(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    active: bool | None = None


@router.get("/customers", response_model=list[CustomerOut])
def list_customers(session: DbSession, _: ApiReader) -> list[CustomerOut]:
    return [CustomerOut.of(c) for c in catalog.list_customers(session)]


@router.post("/customers", response_model=CustomerOut, status_code=201)
def create_customer(body: CustomerIn, session: DbSession, principal: ApiAdmin) -> CustomerOut:
    customer = catalog.create_customer(
        session, body.name, actor=principal.actor, active=body.active
    )
    session.commit()
    return CustomerOut.of(customer)


@router.get("/customers/{customer_id}", response_model=CustomerOut)
def get_customer(customer_id: Id, session: DbSession, _: ApiReader) -> CustomerOut:
    return CustomerOut.of(catalog.get_customer(session, customer_id))


@router.patch("/customers/{customer_id}", response_model=CustomerOut)
def update_customer(
    customer_id: Id, body: CustomerPatch, session: DbSession, principal: ApiAdmin
) -> CustomerOut:
    customer = catalog.update_customer(
        session, customer_id, actor=principal.actor, name=body.name, active=body.active
    )
    session.commit()
    return CustomerOut.of(customer)


@router.delete("/customers/{customer_id}", status_code=204)
def delete_customer(customer_id: Id, session: DbSession, principal: ApiAdmin) -> Response:
    """Only a customer without jobs can be deleted; deactivate one with history instead."""
    catalog.delete_customer(session, customer_id, actor=principal.actor)
    session.commit()
    return Response(status_code=204)


@router.get("/jobs", response_model=list[JobOut], tags=["jobs"])
def list_jobs(session: DbSession, _: ApiReader, customer_id: IdFilter = None) -> list[JobOut]:
    return [JobOut.of(job) for job in catalog.list_jobs(session, customer_id=customer_id)]
