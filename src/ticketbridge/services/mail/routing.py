"""Where the reports of a parsed mail go: runs of a known job, or the Inbox to wait for approval.

A job is known when its mail key (sender, product, job name) was approved before, or when an
admin's matching rule (sender address or domain, subject pattern) names the customer; the job is
then created under that customer. Runs are keyed by the mail (see core.mail_keys), so routing the
same mail again finds its runs instead of adding more. Several mails about one session (a retry,
a first-error mail and then the final result) share job and start: the later mail updates the run.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from ticketbridge.connectors.parsers.registry import ParseOutcome, ParseState
from ticketbridge.core.mail_keys import (
    job_name_of,
    run_external_id,
    sender_key,
    sender_matches,
    subject_matches,
)
from ticketbridge.core.reports import ParsedReport, ReportKind
from ticketbridge.core.statuses import RunSource
from ticketbridge.services.alerts import intake as alert_intake
from ticketbridge.services.runs import ingest as run_ingest
from ticketbridge.services.runs.input import RecordedRun, RunObjectIn
from ticketbridge.services.service_desk import intake as desk_intake
from ticketbridge.storage.models import (
    Customer,
    Job,
    MailJobKey,
    MailMessage,
    MailRule,
    Run,
    RunObject,
)

if TYPE_CHECKING:
    from ticketbridge.services.mail.route_batch import BatchRoutes, RunRef

MAX_TEXT = 20_000
MAX_OBJECTS = 10_000


def detected_of(report: ParsedReport, subject: str) -> dict[str, object]:
    """The fields the Inbox shows and approval uses (JSON-ready)."""
    return {
        "kind": report.kind.value,
        "product": report.product[:100],
        "job_type": report.job_type[:100],
        "job_name": job_name_of(report, subject),
        "host": report.host[:300],
        "status": report.status.value,
        "started_at": report.started_at.isoformat() if report.started_at else None,
    }


def mail_sender(mail: MailMessage, outcome: ParseOutcome) -> str:
    """The report's sender: the original's when a forward was unwrapped."""
    decoded = outcome.message.sender if outcome.message is not None else ""
    return sender_key(decoded or mail.sender)


def route(
    session: Session,
    mail: MailMessage,
    outcome: ParseOutcome,
    *,
    now: datetime,
    rules: Sequence[MailRule] | None = None,
    batch: BatchRoutes | None = None,
) -> None:
    """Record the outcome on the mail and create or find its runs (caller's transaction).
    `rules`: the matching rules, oldest first, when the caller read them already. `batch`: the
    look-ups of the caller's batch (services.mail_route_batch); the mail's runs are then written,
    and its run ids set, by the batch's finish()."""
    # A service-desk mailbox's mail becomes tickets later, never runs (docs/service-desk.md).
    if desk_intake.take(session, mail, now=now):
        return
    # A mail carrying an ATES token is an RMM alert, not a run, from any source (docs/alerts.md).
    if alert_intake.take(session, mail, outcome, now=now):
        return
    keep_approved = mail.state == "approved"
    mail.parsed_at = now
    mail.parser = outcome.parser
    mail.failure = (outcome.failure or "")[:2000]
    mail.awaiting_approval = False
    subject = outcome.message.subject if outcome.message is not None else mail.subject
    mail.detected = [detected_of(report, subject) for report in outcome.reports]
    if outcome.state is not ParseState.PARSED:
        mail.state = outcome.state.value
        mail.run_ids = []
        return
    mail.state = "approved" if keep_approved else "parsed"
    sender = mail_sender(mail, outcome)
    if rules is None:
        rules = list(session.scalars(select(MailRule).order_by(MailRule.id)))
    run_ids: list[int] = []
    pending: list[RunRef] = []
    for index, report in enumerate(outcome.reports):
        if report.kind is not ReportKind.RUN:
            continue
        if batch is not None:
            job = batch.find_job(session, sender, report, subject, rules)
        else:
            job = find_job(session, sender, report, subject, rules)
        if job is None:
            mail.awaiting_approval = True
            continue
        fallback = outcome.message.date if outcome.message and outcome.message.date else None
        external_id = run_external_id(mail.message_key, index)
        if batch is not None:
            started = report.started_at or fallback or mail.received_at
            pending.append(
                batch.record_run(
                    session,
                    job,
                    report,
                    external_id=external_id,
                    started=started,
                    received_at=mail.received_at,
                )
            )
            continue
        run_ids.append(
            record_run(
                session,
                job,
                report,
                external_id=external_id,
                started_fallback=fallback or mail.received_at,
                received_at=mail.received_at,
            )
        )
    mail.run_ids = run_ids
    if batch is not None:
        batch.attach(mail, pending)


def find_job(
    session: Session,
    sender: str,
    report: ParsedReport,
    subject: str,
    rules: Sequence[MailRule],
) -> Job | None:
    name = job_name_of(report, subject)
    key = session.scalars(
        select(MailJobKey).where(
            MailJobKey.sender == sender,
            MailJobKey.product == report.product[:100],
            MailJobKey.job_name == name,
        )
    ).first()
    if key is not None:
        return session.get(Job, key.job_id)
    for rule in rules:
        if rule_matches(rule, sender, subject):
            return ensure_job(session, rule.customer_id, sender, report, subject)
    return None


def rule_fits(rule: MailRule, mail: MailMessage, outcome: ParseOutcome) -> bool:
    """Whether `rule` fits a mail read into `outcome` the way routing reads it: a report of a run
    whose sender and subject (the original's when a forward was unwrapped) the rule matches.
    Which mail waiting in the Inbox a new rule would take (services.inbox.apply_rule)."""
    if outcome.state is not ParseState.PARSED:
        return False
    if not any(report.kind is ReportKind.RUN for report in outcome.reports):
        return False
    subject = outcome.message.subject if outcome.message is not None else mail.subject
    return rule_matches(rule, mail_sender(mail, outcome), subject)


def rule_matches(rule: MailRule, sender: str, subject: str) -> bool:
    if not rule.sender and not rule.subject_pattern:
        return False
    if rule.sender and not sender_matches(rule.sender, sender):
        return False
    return not rule.subject_pattern or subject_matches(rule.subject_pattern, subject)


def ensure_job(
    session: Session, customer_id: int, sender: str, report: ParsedReport, subject: str
) -> Job:
    """The customer's job for this report (created when missing) and its mail key."""
    name = job_name_of(report, subject)
    product = report.product[:100]
    # By name keys (core/names.py), as run ingest matches: 'Nightly' and 'NIGHTLY' are one job.
    product_key, name_key = Job.keys_for(product, name)
    job = session.scalars(
        select(Job).where(
            Job.customer_id == customer_id,
            Job.product_key == product_key,
            Job.job_name_key == name_key,
        )
    ).first()
    if job is None:
        job = Job(
            customer_id=customer_id,
            backup_product=product,
            job_name=name,
            job_type=report.job_type[:100],
            host=report.host[:300],
        )
        session.add(job)
        session.flush()
    key = session.scalars(
        select(MailJobKey).where(
            MailJobKey.sender == sender, MailJobKey.product == product, MailJobKey.job_name == name
        )
    ).first()
    if key is None:
        session.add(MailJobKey(sender=sender, product=product, job_name=name, job_id=job.id))
        session.flush()
    return job


def record_run(
    session: Session,
    job: Job,
    report: ParsedReport,
    *,
    external_id: str,
    started_fallback: datetime,
    received_at: datetime,
) -> int:
    """The run of this report: found by the mail's id, else by (job, start), else created."""
    found = session.scalar(
        select(Run.id).where(Run.source == RunSource.MAIL.value, Run.external_id == external_id)
    )
    if found is not None:
        return found
    started = report.started_at or started_fallback
    objects = objects_of(report)
    same_session = session.scalars(
        select(Run).where(
            Run.job_id == job.id, Run.source == RunSource.MAIL.value, Run.started_at == started
        )
    ).first()
    if same_session is not None:
        # Only a later mail may change the run: re-parsing the first-error mail after the final
        # result must not turn a success back into an error.
        if received_at >= same_session.received_at:
            _update(same_session, report, objects, received_at)
        return same_session.id
    customer = session.get(Customer, job.customer_id)
    assert customer is not None  # jobs.customer_id is a foreign key
    item = RecordedRun(
        customer=customer.name,
        job_name=job.job_name,
        backup_product=job.backup_product,
        job_type=job.job_type,
        host=job.host,
        status=report.status,
        started_at=started,
        ended_at=report.ended_at,
        overall_remark=report.overall_remark[:MAX_TEXT],
        external_id=external_id,
        objects=objects,
    )
    [result] = run_ingest.store(session, [item], source=RunSource.MAIL, received_at=received_at)
    return result.run_id


def objects_of(report: ParsedReport) -> list[RunObjectIn]:
    """The run objects of a report, cut to what a run keeps."""
    return [
        RunObjectIn(
            name=obj.name[:500],
            type=obj.type[:100],
            status=obj.status,
            message=obj.message[:MAX_TEXT],
        )
        for obj in report.objects[:MAX_OBJECTS]
        if obj.name.strip()
    ]


def _update(
    run: Run, report: ParsedReport, objects: list[RunObjectIn], received_at: datetime
) -> None:
    run.status = report.status.value
    run.ended_at = report.ended_at
    run.overall_remark = report.overall_remark[:MAX_TEXT]
    run.received_at = received_at
    run.objects = [
        RunObject(name=o.name, type=o.type, status=o.status.value, message=o.message)
        for o in objects
    ]
