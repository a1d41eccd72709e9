"""Storing runs reported through the API, a JSON import or the demo.

A batch is validated as a whole by its caller and stored in one transaction: either every item is
stored (or found already stored) or none is. Ingest is idempotent on (source, external_id): a repeat
returns the run stored the first time.

Before storing, :func:`ingest` refuses (all or nothing, every problem named at its item) a run
that starts or ends more than a day after the time it is received, and, when told not to create
customers, a customer name it does not know, naming the close matches (issue 11).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from ticketbridge.connectors import metrics
from ticketbridge.core.names import close_matches
from ticketbridge.core.statuses import RunSource
from ticketbridge.services.runs.input import ReportedRun
from ticketbridge.services.system import audit
from ticketbridge.storage import bulk
from ticketbridge.storage.db import serialise_writers, session_scope
from ticketbridge.storage.models import Customer, Job, Run, RunObject, utcnow

MAX_BATCH = 1000
ATTEMPTS = 3
# Advisory lock key of run ingest on PostgreSQL (any constant the project uses once).
INGEST_LOCK = 0x7462_0001


# Clocks drift and zones get mislabelled, so a run a few hours ahead is believable; one more
# than a day ahead is a mistake (a wrong year, a month and day swapped) that would sit at the
# top of every list for months.
MAX_AHEAD = timedelta(days=1)


@dataclass(frozen=True)
class IngestResult:
    run_id: int
    created: bool


@dataclass(frozen=True)
class ItemProblem:
    index: int
    field: str
    message: str


class IngestRefused(ValueError):
    """Nothing was stored: ``problems`` names every refused item and field."""

    def __init__(self, problems: list[ItemProblem]) -> None:
        super().__init__("; ".join(f"{p.index}.{p.field}: {p.message}" for p in problems))
        self.problems = problems


def ingest(
    factory: sessionmaker[Session],
    items: Sequence[ReportedRun],
    *,
    source: RunSource,
    actor: str,
    received_at: datetime | None = None,
    now: datetime | None = None,
    create_customers: bool = True,
) -> list[IngestResult]:
    """Store a batch in one transaction; on a race with a concurrent writer, try again.

    Raises IngestRefused, storing nothing, for runs more than a day after ``now`` (the API and
    the import pass their clock; None judges no time, for data whose times are known to be
    right, such as tests building history) and, without ``create_customers``, for customers
    not known yet.

    A concurrent batch may create the same customer, job or (source, external_id) between our
    look-up and our insert; the unique constraints catch it and the retry then finds those rows.
    """
    for attempt in range(ATTEMPTS):
        try:
            with session_scope(factory) as session:
                problems = too_far_ahead(items, now) if now is not None else []
                if not create_customers:
                    problems += unknown_customers(session, items)
                if problems:
                    raise IngestRefused(sorted(problems, key=lambda p: (p.index, p.field)))
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
            # Committed: a retried or refused batch counts nothing.
            metrics.RUNS_INGESTED.labels(source.value).inc(created)
            return results
        except IntegrityError:
            if attempt == ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def too_far_ahead(items: Sequence[ReportedRun], now: datetime) -> list[ItemProblem]:
    """Runs starting or ending more than a day after ``now``."""
    latest = now + MAX_AHEAD
    # A time whose wall clock lies a day before ``latest`` is before it whatever its offset
    # (less than a day): comparing wall clocks skips asking both zones for their offsets.
    surely_before = (latest - timedelta(days=1)).astimezone(UTC).replace(tzinfo=None)
    return [
        ItemProblem(
            index, field, f"lies more than a day in the future (after {latest:%Y-%m-%d %H:%M} UTC)"
        )
        for index, item in enumerate(items)
        for field, value in (("started_at", item.started_at), ("ended_at", item.ended_at))
        if value is not None and value.replace(tzinfo=None) >= surely_before and value > latest
    ]


def unknown_customers(session: Session, items: Sequence[ReportedRun]) -> list[ItemProblem]:
    """Items naming a customer that does not exist, each with the close matches by name."""
    keys = {Customer.key_for(item.customer) for item in items}
    known = set(session.scalars(select(Customer.name_key).where(Customer.name_key.in_(keys))))
    unknown = [
        (i, item) for i, item in enumerate(items) if Customer.key_for(item.customer) not in known
    ]
    if not unknown:
        return []
    names = list(session.scalars(select(Customer.name).order_by(Customer.name)))
    problems = []
    for index, item in unknown:
        matches = close_matches(item.customer, names)
        hint = (
            "close matches: " + ", ".join(repr(m) for m in matches)
            if matches
            else "no customer has a similar name"
        )
        problems.append(
            ItemProblem(
                index,
                "customer",
                f"unknown customer {item.customer!r} ({hint}); runs create customers only "
                "with create_customers=true",
            )
        )
    return problems


def store(
    session: Session,
    items: Sequence[ReportedRun],
    *,
    source: RunSource,
    received_at: datetime | None = None,
) -> list[IngestResult]:
    """Store within the caller's transaction (mail intake, the schedules and the demo do too).

    Runs and objects go in as rows written in bulk (storage/bulk.py: COPY on PostgreSQL), their
    ids handed out first: at hundreds of runs a batch, rendering INSERT statements and the ORM's
    bookkeeping cost several times what the database spent storing them.
    """
    # What the caller made and has not flushed (mail routing's jobs, say) is read below by
    # plain statements and named by the rows written past the session.
    session.flush()
    # Writers sharing new customers, jobs or external ids would collide on their unique keys
    # as often as there are writers (the API, mail intake, schedules): they take turns, from
    # the writing to the caller's commit. A batch whose jobs are all stored (most of them) is
    # read and planned before its turn, so that it overlaps another writer's COPY and commit;
    # its turn then only asks whether a writer stored some of its runs meanwhile.
    job_ids = _job_ids(session, items, create=False)
    planned_in_turn = job_ids is None
    if job_ids is None:
        serialise_writers(session, INGEST_LOCK)
        job_ids = _job_ids(session, items, create=True)
        assert job_ids is not None
    existing = _existing_runs(session, source, items)
    plan = _Plan.of(items, existing)
    run_ids = bulk.next_ids(session, Run, len(plan.new))
    if not planned_in_turn:
        serialise_writers(session, INGEST_LOCK)
        stored_meanwhile = _existing_runs(session, source, [items[i] for i in plan.new])
        if stored_meanwhile:
            # Fewer runs are new now; the ids handed out stay unused, as a rollback's would.
            plan = _Plan.of(items, existing | stored_meanwhile)
            run_ids = run_ids[: len(plan.new)]
    if plan.new:
        # Statuses are StrEnums: str() is their value, read in C (`.value` is a Python-level
        # property, called per run and per object).
        source_value = source.value
        received = received_at or utcnow()
        bulk.insert_rows(
            session,
            Run,
            _RUN_COLUMNS,
            (
                (
                    run_id,
                    job_ids[index],
                    str(item.status),
                    item.started_at,
                    item.ended_at,
                    item.overall_remark,
                    source_value,
                    item.external_id,
                    received,
                    "",
                )
                for run_id, index in zip(run_ids, plan.new, strict=True)
                for item in (items[index],)
            ),
        )
        bulk.insert_rows(
            session,
            RunObject,
            _OBJECT_COLUMNS,
            (
                (run_id, o.name, o.type, str(o.status), o.message)
                for run_id, index in zip(run_ids, plan.new, strict=True)
                for o in items[index].objects
            ),
        )
    return plan.results(items, run_ids)


@dataclass(frozen=True)
class _Plan:
    """Which items of a batch are new runs, and which are runs already stored."""

    new: list[int]  # item indexes, in batch order
    stored: dict[int, int]  # item index -> id of the run stored before
    first_seen: dict[str, int]  # external_id -> index of its first item in this batch

    @classmethod
    def of(cls, items: Sequence[ReportedRun], existing: dict[str, int]) -> _Plan:
        new: list[int] = []
        stored: dict[int, int] = {}
        first_seen: dict[str, int] = {}
        for index, item in enumerate(items):
            if item.external_id is not None:
                if item.external_id in existing:
                    stored[index] = existing[item.external_id]
                    continue
                if item.external_id in first_seen:
                    continue  # a repeat inside the batch: resolved to the first one
                first_seen[item.external_id] = index
            new.append(index)
        return cls(new, stored, first_seen)

    def results(self, items: Sequence[ReportedRun], run_ids: list[int]) -> list[IngestResult]:
        created = dict(zip(self.new, run_ids, strict=True))
        results = []
        for index, item in enumerate(items):
            if index in created:
                results.append(IngestResult(created[index], created=True))
            elif index in self.stored:
                results.append(IngestResult(self.stored[index], created=False))
            else:
                first = self.first_seen[str(item.external_id)]
                results.append(IngestResult(created[first], created=False))
        return results


_RUN_COLUMNS = (
    "id",
    "job_id",
    "status",
    "started_at",
    "ended_at",
    "overall_remark",
    "source",
    "external_id",
    "received_at",
    "review_note",
)
_OBJECT_COLUMNS = ("run_id", "name", "type", "status", "message")


def _existing_runs(
    session: Session, source: RunSource, items: Sequence[ReportedRun]
) -> dict[str, int]:
    ids = {item.external_id for item in items if item.external_id is not None}
    rows = bulk.by_unique_key(
        session, Run.external_id, ids, (Run.external_id, Run.id), Run.source == source.value
    )
    return {str(external_id): run_id for external_id, run_id in rows}


JobKey = tuple[str, str, str]


def _job_key(item: ReportedRun) -> JobKey:
    return _keys_of(item.customer, item.backup_product, item.job_name)


@lru_cache(maxsize=4096)
def _keys_of(customer: str, backup_product: str, job_name: str) -> JobKey:
    # The same few spellings arrive batch after batch: their keys are worked out once.
    return (Customer.key_for(customer), *Job.keys_for(backup_product, job_name))


def _job_ids(session: Session, items: Sequence[ReportedRun], *, create: bool) -> list[int] | None:
    """Each item's job id, by the name keys (core/names.py) of its customer and job, creating
    what is new (without ``create``: None when something is new): 'ÖKO Bau' and 'öko bau' are
    one customer, on every database. A new customer or job takes its first spelling. Keys are
    computed once per distinct spelling in the batch."""
    spellings: dict[tuple[str, str, str], JobKey] = {}
    wanted: dict[JobKey, ReportedRun] = {}
    for item in items:
        spelling = (item.customer, item.backup_product, item.job_name)
        if spelling not in spellings:
            spellings[spelling] = key = _job_key(item)
            wanted.setdefault(key, item)
    first_names: dict[str, str] = {}
    for key, item in wanted.items():
        first_names.setdefault(key[0], item.customer)
    customers = _customer_ids(session, first_names, create=create)
    if customers is None:
        return None
    found = session.execute(
        select(Job.id, Job.customer_id, Job.product_key, Job.job_name_key).where(
            Job.customer_id.in_(set(customers.values()))
        )
    ).all()
    known = {(customer_id, product, name): job_id for job_id, customer_id, product, name in found}
    jobs: dict[JobKey, int] = {}
    new: dict[JobKey, Job] = {}
    for key, item in wanted.items():
        customer, product, job_name = key
        job_id = known.get((customers[customer], product, job_name))
        if job_id is not None:
            jobs[key] = job_id
            continue
        if not create:
            return None
        new[key] = Job(
            customer_id=customers[customer],
            backup_product=item.backup_product,
            job_name=item.job_name,
            job_type=item.job_type,
            host=item.host,
        )
        session.add(new[key])
    if new:
        session.flush()
        jobs |= {key: job.id for key, job in new.items()}
    return [jobs[spellings[(item.customer, item.backup_product, item.job_name)]] for item in items]


def _customer_ids(
    session: Session, names: dict[str, str], *, create: bool
) -> dict[str, int] | None:
    """Customer ids by name key, creating the customers not known yet with the given name
    (without ``create``: None when one is not known)."""
    found: dict[str, int] = {
        key: customer_id
        for key, customer_id in session.execute(
            select(Customer.name_key, Customer.id).where(Customer.name_key.in_(names))
        )
    }
    unknown = {key: name for key, name in names.items() if key not in found}
    if unknown and not create:
        return None
    if unknown:
        new = {key: Customer(name=name, active=True) for key, name in unknown.items()}
        session.add_all(new.values())
        session.flush()
        found |= {key: customer.id for key, customer in new.items()}
    return found
