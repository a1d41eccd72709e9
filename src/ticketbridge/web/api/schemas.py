"""Response models of the JSON API, and the parameter types every route shares."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import Form, Path, Query
from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from ticketbridge.services.runs.input import iso_8601_only, time_range
from ticketbridge.storage.models import Customer, Job, Run

# --- parameters ----------------------------------------------------------------------------
# One place for ids, page numbers and times taken from a path, a query or a form, so that no
# number, however long, reaches the database unchecked (docs/api.md, "Odd input").
#
# Ids are PostgreSQL `integer` columns: 2**31 - 1 is the largest id there can be, and a larger
# number is refused before any query (SQLite would overflow at 2**63, PostgreSQL at 2**31). An id
# out of range in a path names nothing: 404 (web/errors.py); in a query, a form or a body: 422.
MAX_ID = 2**31 - 1
# Ids of things in a PSA (Autotask tickets and companies) are stored as 64-bit integers; the
# bound is the largest integer every JSON reader keeps exactly (a double's 53 bits).
MAX_REMOTE_ID = 2**53 - 1
# Far beyond any real page (a million pages of the largest page size is 200 million rows), far
# below where page x page size overflows an SQL OFFSET.
MAX_PAGE = 1_000_000
# Dates a filter may name (UI date pickers); the ends of the calendar overflow time arithmetic.
EARLIEST_DAY = date(1970, 1, 1)
LATEST_DAY = date(2100, 12, 31)

Id = Annotated[int, Path(ge=1, le=MAX_ID, description="An id: 1 to 2147483647")]
IdFilter = Annotated[int | None, Query(ge=1, le=MAX_ID)]
IdForm = Annotated[int, Form(ge=1, le=MAX_ID)]
IdField = Annotated[int, Field(ge=1, le=MAX_ID)]
RemoteIdField = Annotated[int, Field(ge=1, le=MAX_REMOTE_ID)]
Page = Annotated[int, Query(ge=1, le=MAX_PAGE)]


def blank_is_none(value: Any) -> Any:
    """A form or query field left empty means "not given"."""
    return None if isinstance(value, str) and not value.strip() else value


# A day picker left empty sends `name=`: no bound, not an error (issue 11). The range sits on
# the inner type, where the None an empty value becomes never meets it.
DayFilter = Annotated[
    Annotated[date, Field(ge=EARLIEST_DAY, le=LATEST_DAY)] | None,
    BeforeValidator(blank_is_none),
    Query(),
]

# Run time filters (since, until): ISO 8601 text only, 1970 to 2100.
TimeFilter = Annotated[
    AwareDatetime,
    BeforeValidator(iso_8601_only),
    time_range(datetime(1970, 1, 1, tzinfo=UTC), datetime(2101, 1, 1, tzinfo=UTC)),
    WithJsonSchema(
        {"type": "string", "format": "date-time", "pattern": "^(19[7-9][0-9]|20[0-9]{2}|2100)-"}
    ),
]


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
