"""One stored mail of a service-desk mailbox made into a ticket or a comment, at most once.

For each mail: parse it (core/service_desk/mail), screen it (filters: a filtered or held mail
keeps its reason and makes nothing), thread it (conversations: new ticket, comment on which
ticket, or done before), route it (board, category, labels), then ask the mailbox's target
connection to create the ticket or add a public comment, and record what the mail made.

Three steps, so that no database connection is held while the PSA answers:

1. plan, in one transaction: the mail's row in service_desk_mails is written as ``pending``
   before the PSA is asked (its Message-ID is unique per mailbox, so a second worker or a
   re-delivered copy finds it and does nothing);
2. ask the PSA, outside any transaction;
3. record the ticket or comment, in another transaction.

A failure at the PSA is kept on the mail (``failed``, with the reason) and tried again by the
next `process_pending`, at most `MAX_ATTEMPTS` times; a ``pending`` row older than `LEASE` is a
worker that died and is tried again too. A retried new ticket is first searched for by our
de-duplication key, so a create whose answer was lost is found rather than repeated.

A comment whose ticket was deleted in the PSA (RemoteNotFound) is not lost: the conversation
is marked deleted and the mail opens a new ticket that names the one it replaces; later mails
of the conversation go to the new ticket.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from ticketbridge.connectors.errors import ConnectorError
from ticketbridge.connectors.psa.capabilities import DeskTarget
from ticketbridge.core.service_desk.conversations import Action, conversation_key, decide_thread
from ticketbridge.core.service_desk.drafts import (
    MailCommentDraft,
    MailTicketDraft,
    draft_comment,
    draft_ticket,
)
from ticketbridge.core.service_desk.filters import ACCEPTED, Outcome, screen
from ticketbridge.core.service_desk.mail import DeskMail, parse_desk_mail
from ticketbridge.core.service_desk.routing import route
from ticketbridge.services.connections.active import IntegrationUnavailable
from ticketbridge.services.mail.intake import raw_bytes
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.service_desk import mail_uploads, notices, psa_calls, targets, threads
from ticketbridge.services.service_desk.claims import claim_row, external_id
from ticketbridge.services.service_desk.intake import DESK_STATE
from ticketbridge.services.service_desk.mailboxes import DeskSettings, settings_of
from ticketbridge.services.service_desk.psa_calls import Made, Plan, Target
from ticketbridge.storage.db import session_scope
from ticketbridge.storage.models import (
    MailMessage,
    ServiceDeskConversation,
    ServiceDeskMail,
    ServiceDeskMailbox,
)

LEASE = timedelta(minutes=10)
MAX_ATTEMPTS = 5
PENDING, FAILED = "pending", "failed"
RETRYABLE = (PENDING, FAILED)


@dataclass(frozen=True)
class Handled:
    """What became of one mail. ``outcome``: ticket, comment, filtered, held, failed, or
    done_before (handled earlier), busy (another worker has it), not_desk."""

    mail_id: int
    outcome: str
    detail: str = ""
    ticket_key: str | None = None
    reason: str = ""  # a filter reason's code
    replaces: str | None = None


def process_pending(runtime: Runtime, *, limit: int = 200) -> list[Handled]:
    """Every desk mail not handled yet (and failed ones due again), oldest first; then the
    senders' notifications that failed before and are due again."""
    with runtime.session_factory() as session:
        ids = pending_mail_ids(session, now=runtime.clock(), limit=limit)
    companies: psa_calls.CompanyCache = {}  # each sender's company asked once a run
    handled = [process_mail(runtime, mail_id, companies=companies) for mail_id in ids]
    notices.send_due(runtime)
    return handled


def pending_mail_ids(session: Session, *, now: datetime, limit: int) -> list[int]:
    settled = select(ServiceDeskMail.mail_id).where(
        ServiceDeskMail.mail_id.is_not(None),
        or_(
            ServiceDeskMail.outcome.not_in(RETRYABLE),
            ServiceDeskMail.attempts >= MAX_ATTEMPTS,
            (ServiceDeskMail.outcome == PENDING) & (ServiceDeskMail.processed_at > now - LEASE),
        ),
    )
    return list(
        session.scalars(
            select(MailMessage.id)
            .where(
                MailMessage.state == DESK_STATE,
                MailMessage.raw.is_not(None),
                MailMessage.id.not_in(settled),
            )
            .order_by(MailMessage.received_at, MailMessage.id)
            .limit(limit)
        )
    )


def process_mail(
    runtime: Runtime,
    mail_id: int,
    *,
    again: bool = False,
    screened: bool = True,
    companies: psa_calls.CompanyCache | None = None,
) -> Handled:
    """Handle one stored mail. ``again``: try a mail that failed `MAX_ATTEMPTS` times once
    more (an operator's `check-missing --fix`). ``screened=False``: an operator let the mail
    past the filters (services.service_desk.release)."""
    with session_scope(runtime.session_factory) as session:
        planned = _plan(session, mail_id, runtime.clock(), again=again, screened=screened)
    if isinstance(planned, Handled):
        return planned
    try:
        made = psa_calls.act(runtime, planned, companies)
    except (IntegrationUnavailable, ConnectorError) as exc:
        message = exc.message if isinstance(exc, IntegrationUnavailable) else str(exc)
        with session_scope(runtime.session_factory) as session:
            row = session.get(ServiceDeskMail, planned.record_id)
            if row is not None:
                row.outcome, row.detail = FAILED, message[:2000]
        return Handled(mail_id, FAILED, message)
    with session_scope(runtime.session_factory) as session:
        handled = _record(session, planned, made, runtime.clock())
        notice = _notice(session, planned, handled, made.ticket_url, runtime.clock())
    if notice is not None:
        notices.send(runtime, notice)  # a failure stays on the notice; the ticket is made
    return handled


# --- 1. plan -------------------------------------------------------------------------------


def _plan(
    session: Session, mail_id: int, now: datetime, *, again: bool, screened: bool = True
) -> Plan | Handled:
    mail = session.get(MailMessage, mail_id)
    mailbox = (
        session.scalars(
            select(ServiceDeskMailbox).where(ServiceDeskMailbox.source_id == mail.source_id)
        ).first()
        if mail is not None and mail.source_id is not None
        else None
    )
    if mail is None or mailbox is None:
        return Handled(mail_id, "not_desk", "Not a mail of a service-desk mailbox.")
    raw = raw_bytes(mail)
    if raw is None:
        return Handled(mail_id, FAILED, "The mail's raw bytes were purged.")
    # A Graph mail's conversationId came with it from the server (not in the MIME).
    desk = parse_desk_mail(raw, conversation_id=mail.conversation_id or "")
    key = desk.message_id or mail.message_key
    row = session.scalars(
        select(ServiceDeskMail).where(
            ServiceDeskMail.mailbox_id == mailbox.id, ServiceDeskMail.message_key == key
        )
    ).first()
    if row is not None:
        done = _settled(row, mail_id, now, again=again)
        if done is not None:
            return done
    settings = settings_of(session, mailbox)
    recent = threads.recent_ticket_times(
        session, mailbox.id, desk.sender, now=now, minutes=settings.filters.loop_minutes
    )
    verdict = (
        screen(desk, settings.filters, now=now, recent_ticket_times=recent)
        if screened
        else ACCEPTED
    )
    if not verdict.accepted:
        outcome = "held" if verdict.outcome is Outcome.HOLD else "filtered"
        reason = verdict.reason.value if verdict.reason is not None else ""
        if _claim(session, row, mailbox.id, key, mail, desk, now, outcome=outcome) is None:
            return Handled(mail_id, "busy", "Another worker is handling this mail.")
        _written(session, mailbox.id, key, reason=reason, detail=verdict.detail)
        return Handled(mail_id, outcome, verdict.detail, reason=reason)
    decision = decide_thread(desk, threads.index_for(session, mailbox.id, desk))
    if decision.action is Action.ALREADY_DONE:
        return Handled(mail_id, "done_before", decision.reason, decision.ticket_key)
    desk_target = targets.of_connection_id(session, settings.connection_id)
    if desk_target is None:
        detail = "The mailbox has no Jira or Autotask connection to open tickets in."
        claimed = _claim(session, row, mailbox.id, key, mail, desk, now, outcome=FAILED)
        if claimed is not None:
            _written(session, mailbox.id, key, detail=detail)
        return Handled(mail_id, FAILED, detail)
    target = replaces = None
    if decision.action is Action.COMMENT and decision.ticket_key:
        found = threads.by_ticket_key(session, mailbox.id, decision.ticket_key)
        target = _target(threads.current(session, found)) if found is not None else None
    elif decision.replaces:
        found = threads.by_ticket_key(session, mailbox.id, decision.replaces)
        replaces = _target(found) if found is not None else None
    claimed = _claim(session, row, mailbox.id, key, mail, desk, now, outcome=PENDING)
    if claimed is None:
        return Handled(mail_id, "busy", "Another worker is handling this mail.")
    _written(session, mailbox.id, key, detail=decision.reason)
    ticket, comment = _drafts(desk, settings, desk_target)
    return Plan(
        record_id=claimed,
        mail_id=mail_id,
        mailbox_id=mailbox.id,
        connection_id=settings.connection_id or 0,
        desk_target=desk_target,
        sender=desk.sender,
        received_at=mail.received_at,
        conversation_key=conversation_key(desk) or key,
        ticket=ticket,
        comment=comment,
        target=target,
        replaces=replaces,
        external_id=external_id(mailbox.id, key),
        search_first=row is not None,  # tried before: the ticket may exist already
        company_id=settings.company_id,
        company_by_sender=settings.company_by_sender,
        source_id=targets.mail_source(session, settings.connection_id or 0),
        reason=decision.reason,
        mail=desk,
        files_held=threads.files_sent(session, target.conversation_id) if target else frozenset(),
    )


def _settled(row: ServiceDeskMail, mail_id: int, now: datetime, *, again: bool) -> Handled | None:
    """What to answer for a mail handled (or being handled) before; None: handle it now."""
    if row.outcome not in RETRYABLE:
        return Handled(mail_id, "done_before", row.detail, reason=row.reason)
    if row.outcome == PENDING and row.processed_at + LEASE > now:
        return Handled(mail_id, "busy", "Another worker is handling this mail.")
    if row.attempts >= MAX_ATTEMPTS and not again:
        return Handled(mail_id, FAILED, row.detail)
    return None


def _claim(
    session: Session,
    row: ServiceDeskMail | None,
    mailbox_id: int,
    key: str,
    mail: MailMessage,
    desk: DeskMail,
    now: datetime,
    *,
    outcome: str,
) -> int | None:
    """The mail's row set to ``outcome`` by this worker alone; None when another got there
    first (a concurrent insert, or a retry claimed meanwhile)."""
    fresh = ServiceDeskMail(
        mailbox_id=mailbox_id,
        message_key=key,
        mail_id=mail.id,
        outcome=outcome,
        reason="",
        detail="",
        external_id=external_id(mailbox_id, key),
        sender=desk.sender,
        received_at=mail.received_at,
        processed_at=now,
        attempts=1,
    )
    return claim_row(session, row, fresh, outcome=outcome, now=now, mail_id=mail.id)


def _written(session: Session, mailbox_id: int, key: str, *, reason: str = "", detail: str) -> None:
    session.execute(
        update(ServiceDeskMail)
        .where(ServiceDeskMail.mailbox_id == mailbox_id, ServiceDeskMail.message_key == key)
        .values(reason=reason, detail=detail[:2000])
        .execution_options(synchronize_session=False)
    )


def _target(conversation: ServiceDeskConversation) -> Target:
    return Target(conversation.id, conversation.ticket_id, conversation.ticket_key)


def _drafts(
    desk: DeskMail, settings: DeskSettings, desk_target: DeskTarget
) -> tuple[MailTicketDraft, MailCommentDraft]:
    addresses = settings.filters.mailbox_addresses
    limits = targets.draft_limits(desk_target)
    ticket = draft_ticket(
        desk, route(desk, settings.routing), limits=limits, mailbox_addresses=addresses
    )
    return ticket, draft_comment(desk, limits=limits)


# --- 3. record -----------------------------------------------------------------------------


def _notice(
    session: Session, plan: Plan, handled: Handled, ticket_url: str, now: datetime
) -> int | None:
    """The sender's notification of a new ticket, queued with the ticket's record."""
    if handled.outcome != "ticket" or handled.ticket_key is None:
        return None
    return notices.queue(
        session,
        mailbox_id=plan.mailbox_id,
        desk_mail_id=plan.record_id,
        mail=plan.mail,
        ticket_key=handled.ticket_key,
        board=plan.ticket.board,
        ticket_url=ticket_url,
        now=now,
    )


def _record(session: Session, plan: Plan, made: Made, now: datetime) -> Handled:
    row = session.get(ServiceDeskMail, plan.record_id)
    assert row is not None  # written in step 1; a mailbox deleted meanwhile cascades to it
    row.processed_at = now
    if made.comment_id is not None and plan.target is not None:
        conversation = session.get(ServiceDeskConversation, plan.target.conversation_id)
        if conversation is not None:
            conversation.last_mail_at = max(conversation.last_mail_at, plan.received_at)
        row.outcome, row.comment_id = "comment", str(made.comment_id)
        row.conversation_id = plan.target.conversation_id
        mail_uploads.keep(row, made.files)
        return Handled(plan.mail_id, "comment", plan.reason, plan.target.ticket_key)
    assert made.ticket is not None  # act() returns a comment or a ticket
    replaced = (
        session.get(ServiceDeskConversation, made.replaced.conversation_id)
        if made.replaced is not None
        else None
    )
    if replaced is not None:
        replaced.state = threads.DELETED
    ticket_key = made.ticket.number or str(made.ticket.id)
    conversation = ServiceDeskConversation(
        mailbox_id=plan.mailbox_id,
        conversation_key=replaced.conversation_key if replaced else plan.conversation_key,
        connection_id=plan.connection_id,
        ticket_id=made.ticket.id,
        ticket_key=ticket_key,
        state=threads.OPEN,
        replaces_id=replaced.id if replaced else None,
        sender=plan.sender,
        board=plan.ticket.board,
        category=plan.ticket.category,
        labels=list(plan.ticket.labels),
        created_at=now,
        last_mail_at=plan.received_at,
    )
    session.add(conversation)
    session.flush()
    detail = plan.reason
    if made.replaced is not None:
        detail = (
            f"{made.replaced.ticket_key} was deleted in the PSA; "
            f"{ticket_key} was opened instead and replaces it."
        )
    # The record also says what the PSA made of the sender and the Cc.
    said = " ".join(
        filter(None, (detail, made.company, psa_calls.people_sentence(made.ticket.people)))
    )
    row.outcome, row.conversation_id, row.detail = "ticket", conversation.id, said[:2000]
    mail_uploads.keep(row, made.files)
    replaces = made.replaced.ticket_key if made.replaced is not None else None
    return Handled(plan.mail_id, "ticket", detail, ticket_key, replaces=replaces)
