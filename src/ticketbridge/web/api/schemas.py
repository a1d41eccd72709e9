"""Response models of the JSON API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from ticketbridge.storage.models import Customer, Job, Run


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorOut(BaseModel):
    error: ErrorDetail


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut} for status in (400, 401, 403, 404, 409, 422)
}


class RunObjectOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    type: str
    status: str
    message: str


class RunOut(BaseModel):
    id: int
    job_id: int
    customer_id: int
    customer: str
    job_name: str
    backup_product: str
    job_type: str
    host: str
    status: str
    started_at: datetime
    ended_at: datetime | None
    overall_remark: str
    source: str
    external_id: str | None
    received_at: datetime
    reviewed_by: str | None
    reviewed_at: datetime | None
    review_note: str
    objects: list[RunObjectOut] | None = None

    @classmethod
    def of(cls, run: Run, *, with_objects: bool = True) -> RunOut:
        job = run.job
        return cls(
            id=run.id,
            job_id=job.id,
            customer_id=job.customer_id,
            customer=job.customer.name,
            job_name=job.job_name,
            backup_product=job.backup_product,
            job_type=job.job_type,
            host=job.host,
            status=run.status,
            started_at=run.started_at,
            ended_at=run.ended_at,
            overall_remark=run.overall_remark,
            source=run.source,
            external_id=run.external_id,
            received_at=run.received_at,
            reviewed_by=run.reviewed_by,
            reviewed_at=run.reviewed_at,
            review_note=run.review_note,
            objects=[RunObjectOut.model_validate(o) for o in run.objects] if with_objects else None,
        )


class RunPage(BaseModel):
    items: list[RunOut]
    next_cursor: str | None


class IngestItemOut(BaseModel):
    index: int
    run_id: int
    created: bool


class IngestOut(BaseModel):
    created: int
    existing: int
    items: list[IngestItemOut]


class CustomerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    active: bool
    created_at: datetime

    @classmethod
    def of(cls, customer: Customer) -> CustomerOut:
        return cls.model_validate(customer)


class JobOut(BaseModel):
    id: int
    customer_id: int
    customer: str
    backup_product: str
    job_type: str
    job_name: str
    host: str
    schedule: dict[str, Any] | None

    @classmethod
    def of(cls, job: Job) -> JobOut:
        return cls(
            id=job.id,
            customer_id=job.customer_id,
            customer=job.customer.name,
            backup_product=job.backup_product,
            job_type=job.job_type,
            job_name=job.job_name,
            host=job.host,
            schedule=job.schedule,
        )
