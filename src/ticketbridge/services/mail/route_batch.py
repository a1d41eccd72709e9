"""Routing a polled batch with its look-ups done once a batch (services.mail_batch).

Routing one mail reads, for each report, its job's mail key and the job, the run this mail made
before (by external id) and the run of the same session (job and start), then writes a run and
its objects or updates one: five or six round trips a mail, most of what intake cost on
PostgreSQL. For a batch, :class:`BatchRoutes` reads the keys, jobs, customers and runs of all
its mails in a few statements before routing, keeps what routing makes or changes in memory (a
later mail of a session updates the run an earlier mail of the same batch made, as one by one),
and at the end writes the new runs and their objects in bulk (storage/bulk.py), the updated runs
with one UPDATE run over every row and their objects replaced in one DELETE and one bulk insert.

Jobs a matching rule makes are still made one at a time (mail_routing.ensure_job): a few a batch
at most, and they are remembered for the rest of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, delete, select, update
from sqlalchemy.orm import Session

from ticketbridge.connectors.parsers.registry import ParseOutcome, ParseState
from ticketbridge.core.mail_keys import job_name_of, run_external_id
from ticketbridge.core.reports import ParsedReport, ReportKind
from ticketbridge.core.statuses import RunSource
from ticketbridge.services.mail import routing as mail_routing
from ticketbridge.services.runs.ingest import INGEST_LOCK
from ticketbridge.services.runs.input import RecordedRun, RunObjectIn
from ticketbridge.storage import bulk
from ticketbridge.storage.db import serialise_writers
from ticketbridge.storage.models import (
    Customer,
    Job,
    MailJobKey,
    MailMessage,
    MailRule,
    Run,
    RunObject,
)

KeyOfJob = tuple[str, str, str]  # sender, product, job name: MailJobKey's columns
_RUN_COLUMNS = (
    *("id", "job_id", "status", "started_at", "ended_at", "overall_remark"),
    *("source", "external_id", "received_at", "review_note"),
)
_OBJECT_COLUMNS = ("run_id", "name", "type", "status", "message")


@dataclass
class _Content:
    status: str
    ended_at: datetime | None
    remark: str
    objects: list[RunObjectIn]


@dataclass
class PendingRun:
    """A run of the batch: stored before (``id`` known) or new (``id`` handed out at the end)."""

    id: int | None
    job_id: int
    started_at: datetime
    received_at: datetime
    content: _Content | None = None  # what to write; None: a stored run left as it is
    external_id: str | None = None  # a new run's (a stored run's is not read)

    @property
    def stored(self) -> bool:
        return self.external_id is None


RunRef = int | PendingRun


def start_of(mail: MailMessage, outcome: ParseOutcome, report: ParsedReport) -> datetime:
    """A report's start: its own, else the mail's Date, else when the mail was received."""
    fallback = outcome.message.date if outcome.message and outcome.message.date else None
    return report.started_at or fallback or mail.received_at


class BatchRoutes:
    """What routing a batch reads, read once, and what it writes, written once."""

    def __init__(self) -> None:
        self.keys: dict[KeyOfJob, int] = {}
        self.jobs: dict[int, Job] = {}
        self.customers: dict[int, str] = {}
        self.by_external: dict[str, int] = {}
        self.sessions: dict[tuple[int, datetime], PendingRun] = {}
        self.loaded: set[int] = set()  # jobs whose runs of the batch's starts are read
        self.starts: set[datetime] = set()
        self.new: list[PendingRun] = []
        self.attached: list[tuple[MailMessage, list[RunRef]]] = []

    @classmethod
    def read(
        cls, session: Session, routed: Sequence[tuple[MailMessage, ParseOutcome]]
    ) -> BatchRoutes:
        """The look-ups of every run report in `routed`, in five statements at most."""
        self = cls()
        senders: set[str] = set()
        external_ids: list[str] = []
        for mail, outcome in routed:
            if outcome.state is not ParseState.PARSED:
                continue
            senders.add(mail_routing.mail_sender(mail, outcome))
            for index, report in enumerate(outcome.reports):
                if report.kind is ReportKind.RUN:
                    external_ids.append(run_external_id(mail.message_key, index))
                    self.starts.add(start_of(mail, outcome, report))
        if not external_ids:
            return self
        rows = session.execute(
            select(
                MailJobKey.sender, MailJobKey.product, MailJobKey.job_name, MailJobKey.job_id
            ).where(MailJobKey.sender.in_(senders))
        )
        self.keys = {(sender, product, name): job for sender, product, name, job in rows}
        if self.keys:
            jobs = session.scalars(select(Job).where(Job.id.in_(set(self.keys.values()))))
            self.jobs = {job.id: job for job in jobs}
            self._read_customers(session, {job.customer_id for job in self.jobs.values()})
        found = bulk.by_unique_key(
            session,
            Run.external_id,
            external_ids,
            (Run.external_id, Run.id),
            Run.source == RunSource.MAIL.value,
        )
        self.by_external = {str(external_id): run_id for external_id, run_id in found}
        self._read_sessions(session, list(self.jobs))
        return self

    def find_job(
        self,
        session: Session,
        sender: str,
        report: ParsedReport,
        subject: str,
        rules: Sequence[MailRule],
    ) -> Job | None:
        """mail_routing.find_job, from what was read (a job a rule makes is remembered)."""
        key = (sender, report.product[:100], job_name_of(report, subject))
        job_id = self.keys.get(key)
        if job_id is not None:
            return self.jobs.get(job_id) or session.get(Job, job_id)
        for rule in rules:
            if mail_routing.rule_matches(rule, sender, subject):
                job = mail_routing.ensure_job(session, rule.customer_id, sender, report, subject)
                self.keys[key] = job.id
                self.jobs[job.id] = job
                return job
        return None

    def record_run(
        self,
        session: Session,
        job: Job,
        report: ParsedReport,
        *,
        external_id: str,
        started: datetime,
        received_at: datetime,
    ) -> RunRef:
        """mail_routing.record_run, with the writing left to :meth:`finish`."""
        found = self.by_external.get(external_id)
        if found is not None:
            return found
        objects = mail_routing.objects_of(report)
        if job.id not in self.loaded:
            self._read_sessions(session, [job.id])
        run = self.sessions.get((job.id, started))
        if run is not None:
            # Only a later mail may change the run (see mail_routing.record_run).
            if received_at >= run.received_at:
                run.received_at = received_at
                run.content = _Content(
                    report.status.value,
                    report.ended_at,
                    report.overall_remark[: mail_routing.MAX_TEXT],
                    objects,
                )
            return run
        item = RecordedRun(  # validated as run ingest validates the runs it stores
            customer=self._customer(session, job.customer_id),
            job_name=job.job_name,
            backup_product=job.backup_product,
            job_type=job.job_type,
            host=job.host,
            status=report.status,
            started_at=started,
            ended_at=report.ended_at,
            overall_remark=report.overall_remark[: mail_routing.MAX_TEXT],
            external_id=external_id,
            objects=objects,
        )
        run = PendingRun(
            None,
            job.id,
            item.started_at,
            received_at,
            _Content(item.status.value, item.ended_at, item.overall_remark, item.objects),
            external_id,
        )
        self.sessions[(job.id, started)] = run
        self.new.append(run)
        return run

    def attach(self, mail: MailMessage, refs: list[RunRef]) -> None:
        """`mail`'s runs, named once :meth:`finish` has handed out the new runs' ids."""
        self.attached.append((mail, refs))

    def finish(self, session: Session) -> None:
        """Write the batch's new and changed runs, then each mail's run ids."""
        if self.new:
            # As run ingest: writers take turns from here to the commit (unique keys, ids).
            serialise_writers(session, INGEST_LOCK)
            for run, run_id in zip(
                self.new, bulk.next_ids(session, Run, len(self.new)), strict=True
            ):
                run.id = run_id
            bulk.insert_rows(session, Run, _RUN_COLUMNS, (_run_row(run) for run in self.new))
            bulk.insert_rows(session, RunObject, _OBJECT_COLUMNS, _object_rows(self.new))
        changed = [run for run in self.sessions.values() if run.stored and run.content is not None]
        if changed:
            runs, objects = cast(Table, Run.__table__), cast(Table, RunObject.__table__)
            session.execute(
                update(runs)
                .where(runs.c.id == bindparam("run_id"))
                .values(
                    status=bindparam("new_status"),
                    ended_at=bindparam("new_ended_at"),
                    overall_remark=bindparam("new_remark"),
                    received_at=bindparam("new_received_at"),
                ),
                [
                    {
                        "run_id": run.id,
                        "new_status": run.content.status,
                        "new_ended_at": run.content.ended_at,
                        "new_remark": run.content.remark,
                        "new_received_at": run.received_at,
                    }
                    for run in changed
                    if run.content is not None
                ],
            )
            session.execute(delete(objects).where(objects.c.run_id.in_([r.id for r in changed])))
            bulk.insert_rows(session, RunObject, _OBJECT_COLUMNS, _object_rows(changed))
        for mail, refs in self.attached:
            mail.run_ids = [ref if isinstance(ref, int) else _id_of(ref) for ref in refs]

    def _read_sessions(self, session: Session, job_ids: list[int]) -> None:
        self.loaded.update(job_ids)
        if not job_ids or not self.starts:
            return
        rows = session.execute(
            select(Run.id, Run.job_id, Run.started_at, Run.received_at)
            .where(
                Run.source == RunSource.MAIL.value,
                Run.job_id.in_(job_ids),
                Run.started_at.in_(self.starts),
            )
            .order_by(Run.id)
        )
        for run_id, job_id, started, received in rows:
            self.sessions.setdefault(
                (job_id, started), PendingRun(run_id, job_id, started, received)
            )

    def _read_customers(self, session: Session, ids: set[int]) -> None:
        rows = session.execute(select(Customer.id, Customer.name).where(Customer.id.in_(ids)))
        self.customers.update({customer_id: name for customer_id, name in rows})

    def _customer(self, session: Session, customer_id: int) -> str:
        if customer_id not in self.customers:
            self._read_customers(session, {customer_id})
        return self.customers[customer_id]


def _id_of(run: PendingRun) -> int:
    assert run.id is not None  # handed out by finish() before any mail is told
    return run.id


def _run_row(run: PendingRun) -> tuple[object, ...]:
    assert run.content is not None  # a new run always has its content
    content = run.content
    return (
        *(_id_of(run), run.job_id, content.status, run.started_at, content.ended_at),
        *(content.remark, RunSource.MAIL.value, run.external_id, run.received_at, ""),
    )


def _object_rows(runs: list[PendingRun]) -> list[tuple[object, ...]]:
    return [
        (_id_of(run), o.name, o.type, o.status.value, o.message)
        for run in runs
        if run.content is not None
        for o in run.content.objects
    ]
