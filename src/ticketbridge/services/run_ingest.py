"""Storing runs reported through the API, a JSON import or the demo.

A batch is validated as a whole by its caller and stored in one transaction: either every item is
stored (or found already stored) or none is. Ingest is idempotent on (source, external_id): a repeat
returns the run stored the first time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from ticketbridge.core.statuses import RunSource, RunStatus
from ticketbridge.services import audit
from ticketbridge.storage.db import session_scope
from ticketbridge.storage.models import Customer, Job, Run, RunObject

MAX_BATCH = 1000
ATTEMPTS = 3


class RunObjectIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=500)
    type: str = Field(default="", max_length=100)
    status: RunStatus
    message: str = Field(default="", max_length=20_000)


class RunIn(BaseModel):
    """One backup run as a product or a script reports it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    customer: str = Field(min_length=1, max_length=200, description="Customer name")
    job_name: str = Field(min_length=1, max_length=300)
    backup_product: str = Field(min_length=1, max_length=100)
    job_type: str = Field(default="", max_length=100)
    host: str = Field(default="", max_length=300)
    status: RunStatus
    started_at: AwareDatetime
    ended_at: AwareDatetime | None = None
    overall_remark: str = Field(default="", max_length=20_000)
    external_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Your id for this run; a repeat with the same id returns the stored run",
    )
    objects: list[RunObjectIn] = Field(default_factory=list, max_length=10_000)


@dataclass(frozen=True)
class IngestResult:
    run_id: int
    created: bool


def ingest(
    factory: sessionmaker[Session],
    items: Sequence[RunIn],
    *,
    source: RunSource,
    actor: str,
    received_at: datetime | None = None,
) -> list[IngestResult]:
    """Store a batch in one transaction; on a race with a concurrent writer, try again.

    A concurrent batch may create the same customer, job or (source, external_id) between our
    look-up and our insert; the unique constraints catch it and the retry then finds those rows.
    """
    for attempt in range(ATTEMPTS):
        try:
            with session_scope(factory) as session:
                results = store(session, items, source=source, received_at=received_at)
                created = sum(1 for result in results if result.created)
                if created:
                    audit.record(
                        session,
                        actor=actor,
                        action="runs.ingest",
                        subject=f"{created} runs",
                        details={
                            "source": source.value,
                            "received": len(items),
                            "created": created,
                        },
                    )
                return results
        except IntegrityError:
            if attempt == ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def store(
    session: Session,
    items: Sequence[RunIn],
    *,
    source: RunSource,
    received_at: datetime | None = None,
) -> list[IngestResult]:
    """Store within the caller's transaction (the demo seeds through this too)."""
    existing = _existing_runs(session, source, items)
    jobs = _jobs_for(session, items)
    results: list[IngestResult] = []
    new_runs: list[tuple[int, Run]] = []
    for index, item in enumerate(items):
        if item.external_id is not None and item.external_id in existing:
            results.append(IngestResult(existing[item.external_id], created=False))
            continue
        run = Run(
            job=jobs[(item.customer, item.backup_product, item.job_name)],
            status=item.status.value,
            started_at=item.started_at,
            ended_at=item.ended_at,
            overall_remark=item.overall_remark,
            source=source.value,
            external_id=item.external_id,
            objects=[
                RunObject(name=o.name, type=o.type, status=o.status.value, message=o.message)
                for o in item.objects
            ],
        )
        if received_at is not None:
            run.received_at = received_at
        session.add(run)
        new_runs.append((index, run))
        results.append(IngestResult(-1, created=True))
        if item.external_id is not None:
            existing[item.external_id] = -1  # a repeat inside the batch resolves below
    session.flush()
    by_external_id = {run.external_id: run.id for _, run in new_runs if run.external_id}
    for index, run in new_runs:
        results[index] = IngestResult(run.id, created=True)
    for index, item in enumerate(items):
        if results[index].run_id == -1 and item.external_id is not None:
            results[index] = IngestResult(by_external_id[item.external_id], created=False)
    return results


def _existing_runs(session: Session, source: RunSource, items: Sequence[RunIn]) -> dict[str, int]:
    ids = {item.external_id for item in items if item.external_id is not None}
    if not ids:
        return {}
    rows = session.execute(
        select(Run.external_id, Run.id).where(Run.source == source.value, Run.external_id.in_(ids))
    ).all()
    return {str(external_id): run_id for external_id, run_id in rows}


def _jobs_for(session: Session, items: Sequence[RunIn]) -> dict[tuple[str, str, str], Job]:
    names = {item.customer for item in items}
    customers = {
        c.name: c for c in session.scalars(select(Customer).where(Customer.name.in_(names)))
    }
    for name in names - customers.keys():
        customers[name] = Customer(name=name, active=True)
        session.add(customers[name])
    session.flush()

    wanted = {(item.customer, item.backup_product, item.job_name): item for item in items}
    keys = {(customers[c].id, product, job) for c, product, job in wanted}
    found = session.scalars(
        select(Job).where(tuple_(Job.customer_id, Job.backup_product, Job.job_name).in_(keys))
    ).all()
    by_key = {(j.customer_id, j.backup_product, j.job_name): j for j in found}
    jobs: dict[tuple[str, str, str], Job] = {}
    for (customer, product, job_name), item in wanted.items():
        key = (customers[customer].id, product, job_name)
        job = by_key.get(key)
        if job is None:
            job = Job(
                customer=customers[customer],
                backup_product=product,
                job_name=job_name,
                job_type=item.job_type,
                host=item.host,
            )
            session.add(job)
            by_key[key] = job
        jobs[(customer, product, job_name)] = job
    return jobs
