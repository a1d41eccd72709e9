"""The Inbox: mail that waits for an operator, and the admin's matching rules.

Lanes: "waiting" (a report of a job nobody approved yet), "could_not_tell" (no parser read it),
"failed" (malformed, over a limit, or a parser broke) and "ignored". Approving a waiting mail
under a customer creates its jobs and their mail keys, so later mails of those jobs become runs
directly (and other waiting mails of the same jobs are routed at once). Ignoring is an explicit
action and can be undone: a restored mail is read again and lands where it belongs today. A new
rule can be applied to the mail already waiting (services.mail_routing decides what it fits).
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
from ticketbridge.services.mail import routing as mail_routing
from ticketbridge.services.mail.intake import DEFAULT_MAX_BYTES, process, raw_bytes
from ticketbridge.services.runs import catalog
from ticketbridge.services.system import audit
from ticketbridge.storage.models import MailMessage, MailRule, Run

LANES = ("waiting", "could_not_tell", "failed", "ignored")
IGNORED = "ignored"


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
    if lane == IGNORED:
        return query.where(MailMessage.state == IGNORED)
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


def lane_of(mail: MailMessage) -> str | None:
    """The Inbox lane a mail is in; None once it became runs (or was approved)."""
    if mail.state == IGNORED:
        return IGNORED
    if mail.awaiting_approval:
        return "waiting"
    if mail.state == ParseState.NO_PARSER.value:
        return "could_not_tell"
    if mail.state == ParseState.FAILED.value:
        return "failed"
    return None


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


def ignore(session: Session, mail_id: int, *, actor: str, now: datetime) -> MailMessage:
    """Move a mail to the Ignored lane, remembering where it was; repeating it changes nothing."""
    mail = get_mail(session, mail_id)
    if mail.state == IGNORED:
        return mail
    origin = lane_of(mail) if mail.awaiting_approval else mail.state
    mail.ignored_from = origin
    mail.ignored_by = actor[:200]
    mail.ignored_at = now
    mail.state = IGNORED
    mail.awaiting_approval = False
    audit.record(
        session,
        actor=actor,
        action="inbox.ignore",
        subject=f"mail {mail.id}",
        details={"previous_state": origin, "subject": mail.subject[:200]},
    )
    return mail


def restore(
    session: Session,
    mail_id: int,
    *,
    actor: str,
    now: datetime,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> MailMessage:
    """Undo an ignore. The mail is read and routed again, so it lands where it belongs today:
    usually the lane it left, or straight into runs when its job became known meanwhile. A mail
    that cannot be read again (raw purged, or only headers kept) goes back to the lane it left."""
    mail = get_mail(session, mail_id)
    if mail.state != IGNORED:
        raise InboxError("id", "this mail is not ignored")
    origin = mail.ignored_from
    raw = raw_bytes(mail) if mail.size <= max_bytes else None
    mail.ignored_from = mail.ignored_by = mail.ignored_at = None
    if raw is not None:
        # "approved" must be in place before routing, which keeps it (services.mail_routing).
        mail.state = "approved" if origin == "approved" else ParseState.PARSED.value
        process(session, mail, raw, now=now, max_bytes=max_bytes)
    else:
        origin = origin or _guessed_origin(mail)
        mail.awaiting_approval = origin == "waiting"
        mail.state = ParseState.PARSED.value if origin == "waiting" else origin
    audit.record(
        session,
        actor=actor,
        action="inbox.restore",
        subject=f"mail {mail.id}",
        details={
            "ignored_from": origin,
            "lane": lane_of(mail),
            "state": mail.state,
            "run_ids": list(mail.run_ids or []),
        },
    )
    return mail


def _guessed_origin(mail: MailMessage) -> str:
    """Where a mail ignored before its origin was kept most likely came from."""
    if mail.failure:
        return ParseState.FAILED.value
    if mail.run_ids:
        return ParseState.PARSED.value
    if any(d.get("kind") == ReportKind.RUN.value for d in mail.detected or []):
        return "waiting"
    return ParseState.NO_PARSER.value


def note_upload(session: Session, mail_id: int, filename: str) -> None:
    """Keep the name of the file a mail was uploaded from (the first upload's, if repeated)."""
    mail = get_mail(session, mail_id)
    name = filename.strip()
    if name and not mail.filename:
        mail.filename = name[:300]


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


def get_rule(session: Session, rule_id: int) -> MailRule:
    rule = session.get(MailRule, rule_id)
    if rule is None:
        raise MailNotFound(f"mail rule {rule_id} does not exist")
    return rule


def delete_rule(session: Session, rule_id: int, *, actor: str) -> None:
    rule = get_rule(session, rule_id)
    session.delete(rule)
    audit.record(session, actor=actor, action="mail_rule.delete", subject=f"mail rule {rule_id}")


@dataclass(frozen=True)
class RuleApplied:
    rule_id: int
    matched: list[int]  # waiting mail the rule fitted
    routed: list[int]  # of those, the mail that became runs
    run_ids: list[int]


def waiting_for_rule(
    session: Session, rule_id: int, *, max_bytes: int = DEFAULT_MAX_BYTES
) -> list[MailMessage]:
    """The mail waiting for approval that `rule_id` fits, oldest first. Each mail is read as
    routing reads it (a forward by its original sender), about a millisecond a mail."""
    rule = get_rule(session, rule_id)
    ids = session.scalars(
        select(MailMessage.id)
        .where(MailMessage.awaiting_approval.is_(True))
        .order_by(MailMessage.received_at, MailMessage.id)
    ).all()
    fitting = []
    for mail_id in ids:
        mail = session.get(MailMessage, mail_id)
        raw = raw_bytes(mail) if mail is not None else None
        if mail is None or raw is None:
            continue
        if mail_routing.rule_fits(rule, mail, parse_message(raw, max_bytes=max_bytes)):
            fitting.append(mail)
        elif mail not in session.dirty:
            session.expunge(mail)  # keeps one raw mail in memory at a time, not the lane
    return fitting


def apply_rule(
    session: Session,
    rule_id: int,
    *,
    actor: str,
    now: datetime,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> RuleApplied:
    """Route the waiting mail a rule fits, as if it had arrived after the rule: its jobs are
    created under the rule's customer and its runs stored. Rules are tried oldest first, as for
    new mail. What fits is worked out again here, so a count shown earlier may have changed."""
    rule = get_rule(session, rule_id)
    matched = waiting_for_rule(session, rule.id, max_bytes=max_bytes)
    routed: list[int] = []
    run_ids: list[int] = []
    for mail in matched:
        raw = raw_bytes(mail)
        assert raw is not None  # waiting_for_rule skips purged mail
        process(session, mail, raw, now=now, max_bytes=max_bytes)
        if not mail.awaiting_approval:
            routed.append(mail.id)
            run_ids.extend(mail.run_ids or [])
    audit.record(
        session,
        actor=actor,
        action="mail_rule.apply",
        subject=f"mail rule {rule.id}",
        details={
            "customer_id": rule.customer_id,
            "mail_ids": routed,
            "still_waiting": [m.id for m in matched if m.id not in routed],
            "run_ids": run_ids,
        },
    )
    return RuleApplied(rule.id, [m.id for m in matched], routed, run_ids)
