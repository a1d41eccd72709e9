"""The Inbox: mail that waits for an operator, and the admin's matching rules.

Lanes: "waiting" (a report of a job nobody approved yet), "could_not_tell" (no parser read it)
and "failed" (malformed, over a limit, or a parser broke). Approving a waiting mail under a
customer creates its jobs and their mail keys, so later mails of those jobs become runs directly
(and other waiting mails of the same jobs are routed at once). Ignoring is an explicit action.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from ticketbridge.connectors.parsers.registry import ParseState, parse_message
from ticketbridge.core.mail_keys import digest_of_run
from ticketbridge.core.reports import ReportKind
from ticketbridge.core.statuses import RunSource
from ticketbridge.services import audit, catalog, mail_routing
from ticketbridge.services.mail_intake import DEFAULT_MAX_BYTES, process, raw_bytes
from ticketbridge.storage.models import MailMessage, MailRule, Run

LANES = ("waiting", "could_not_tell", "failed")


class MailNotFound(LookupError):
    pass


class InboxError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _lane_filter(query: Select[Any], lane: str) -> Select[Any]:
    if lane == "waiting":
        return query.where(MailMessage.awaiting_approval.is_(True))
    if lane == "could_not_tell":
        return query.where(MailMessage.state == ParseState.NO_PARSER.value)
    if lane == "failed":
        return query.where(MailMessage.state == ParseState.FAILED.value)
    raise InboxError("lane", f"unknown lane {lane!r}; one of {', '.join(LANES)}")


@dataclass(frozen=True)
class InboxPage:
    mails: list[MailMessage]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def lane_counts(session: Session) -> dict[str, int]:
    return {
        lane: session.scalar(_lane_filter(select(func.count(MailMessage.id)), lane)) or 0
        for lane in LANES
    }


def list_lane(session: Session, lane: str, *, page: int = 1, per_page: int = 50) -> InboxPage:
    total = session.scalar(_lane_filter(select(func.count(MailMessage.id)), lane)) or 0
    rows = session.scalars(
        _lane_filter(select(MailMessage), lane)
        .order_by(MailMessage.received_at.desc(), MailMessage.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return InboxPage(list(rows), total, page, per_page)


def get_mail(session: Session, mail_id: int) -> MailMessage:
    mail = session.get(MailMessage, mail_id)
    if mail is None:
        raise MailNotFound(f"mail {mail_id} does not exist")
    return mail


def mail_for_run(session: Session, run: Run) -> MailMessage | None:
    """The mail a run was made from (a later mail of the same session may have updated it)."""
    digest = digest_of_run(run.external_id) if run.source == RunSource.MAIL.value else None
    if digest is None:
        return None
    return session.scalars(select(MailMessage).where(MailMessage.key_digest == digest)).first()


def approve(
    session: Session,
    mail_id: int,
    customer_id: int,
    *,
    actor: str,
    now: datetime,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> MailMessage:
    mail = get_mail(session, mail_id)
    if not mail.awaiting_approval:
        raise InboxError("id", "this mail is not waiting for approval")
    customer = catalog.get_customer(session, customer_id)
    raw = raw_bytes(mail)
    if raw is None:
        raise InboxError("id", "the raw mail was purged by retention; it cannot be approved")
    outcome = parse_message(raw, max_bytes=max_bytes)
    sender = mail_routing.mail_sender(mail, outcome)
    subject = outcome.message.subject if outcome.message is not None else mail.subject
    jobs = []
    for report in outcome.reports:
        if report.kind is ReportKind.RUN:
            job = mail_routing.ensure_job(session, customer.id, sender, report, subject)
            jobs.append(job.id)
    mail.state = "approved"
    mail_routing.route(session, mail, outcome, now=now)
    rerouted = _route_waiting_from(session, sender, exclude=mail.id, now=now, max_bytes=max_bytes)
    audit.record(
        session,
        actor=actor,
        action="inbox.approve",
        subject=f"mail {mail.id}",
        details={
            "customer_id": customer.id,
            "job_ids": jobs,
            "run_ids": list(mail.run_ids),
            "also_routed": rerouted,
        },
    )
    return mail


def _route_waiting_from(
    session: Session, sender: str, *, exclude: int, now: datetime, max_bytes: int
) -> list[int]:
    """Other waiting mails whose jobs are now known become runs too."""
    routed = []
    for other in session.scalars(
        select(MailMessage).where(
            MailMessage.awaiting_approval.is_(True),
            MailMessage.id != exclude,
            func.lower(MailMessage.sender) == sender,
        )
    ):
        raw = raw_bytes(other)
        if raw is None:
            continue
        process(session, other, raw, now=now, max_bytes=max_bytes)
        if not other.awaiting_approval:
            routed.append(other.id)
    return routed


def ignore(session: Session, mail_id: int, *, actor: str) -> MailMessage:
    mail = get_mail(session, mail_id)
    if mail.state == "ignored":
        return mail
    previous = mail.state
    mail.state = "ignored"
    mail.awaiting_approval = False
    audit.record(
        session,
        actor=actor,
        action="inbox.ignore",
        subject=f"mail {mail.id}",
        details={"previous_state": previous, "subject": mail.subject[:200]},
    )
    return mail


def list_rules(session: Session) -> list[MailRule]:
    return list(session.scalars(select(MailRule).order_by(MailRule.id)))


def create_rule(
    session: Session, *, sender: str, subject_pattern: str, customer_id: int, actor: str
) -> MailRule:
    sender = sender.strip().lower()
    subject_pattern = subject_pattern.strip()
    if not sender and not subject_pattern:
        raise InboxError("sender", "a rule needs a sender address or domain, or a subject")
    if len(sender) > 320 or " " in sender:
        raise InboxError("sender", "give one address (backup@acme.com) or domain (acme.com)")
    if len(subject_pattern) > 300:
        raise InboxError("subject_pattern", "at most 300 characters")
    catalog.get_customer(session, customer_id)
    rule = MailRule(sender=sender, subject_pattern=subject_pattern, customer_id=customer_id)
    session.add(rule)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="mail_rule.create",
        subject=f"mail rule {rule.id}",
        details={"sender": sender, "subject_pattern": subject_pattern, "customer_id": customer_id},
    )
    return rule


def delete_rule(session: Session, rule_id: int, *, actor: str) -> None:
    rule = session.get(MailRule, rule_id)
    if rule is None:
        raise MailNotFound(f"mail rule {rule_id} does not exist")
    session.delete(rule)
    audit.record(session, actor=actor, action="mail_rule.delete", subject=f"mail rule {rule_id}")
