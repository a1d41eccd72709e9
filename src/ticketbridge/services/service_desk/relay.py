"""Public comments added in the PSA, mailed to the reporter as replies in their thread (issue
16, item 5; docs/service-desk.md, Relaying comments). Off unless a mailbox's notifications and
its ``relay_comments`` switch are on.

For each such mailbox and each connection its open tickets live in: one
``notes.changed_since`` over all those tickets (the capability batches them: a request per
500 Autotask tickets, per 100 Jira issues, never one per ticket), from the mailbox's watermark
(`ServiceDeskRelayMark`: the newest ``updated`` the PSA gave, read again with `OVERLAP` so a
note saved while the last read ran is not missed; never before the switch was turned on).
Each note `relay_refusal` lets through becomes a notice (``note_key`` unique per mailbox, so a
second run or a second worker inserts nothing), composed in the transaction that moves the
watermark and sent afterwards by `notices.send`, with its retries.

The desk's own comments (the ones the reporter's mails made) are known by the ids recorded
when they were added. Between the PSA's answer and that record a comment's id is not known
yet, so a mailbox with a mail being handled right now (``pending``) waits for the next run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ticketbridge.connectors import registry
from ticketbridge.connectors.errors import ConnectorError
from ticketbridge.connectors.psa.capabilities import RemoteNote
from ticketbridge.core.psa_governor import Priority
from ticketbridge.core.service_desk.mail import parse_desk_mail
from ticketbridge.core.service_desk.notifications import Notification
from ticketbridge.core.service_desk.relays import ThreadTip, compose_relay, relay_refusal
from ticketbridge.services.connections import active as active_connection
from ticketbridge.services.connections.active import IntegrationUnavailable
from ticketbridge.services.mail.intake import raw_bytes
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.service_desk import notices, threads
from ticketbridge.services.service_desk.listing import API_COMMENT_PREFIX, API_PREFIX
from ticketbridge.services.service_desk.notify_settings import relay_from, view
from ticketbridge.services.service_desk.process import LEASE, PENDING
from ticketbridge.storage.db import session_scope
from ticketbridge.storage.models import (
    MailMessage,
    ServiceDeskConversation,
    ServiceDeskMail,
    ServiceDeskMailbox,
    ServiceDeskNotice,
    ServiceDeskRelayMark,
)

log = logging.getLogger(__name__)
OVERLAP = timedelta(minutes=5)


@dataclass(frozen=True)
class Relayed:
    """One mailbox and connection's run: how many comments were queued, and the notices'
    fates; ``detail`` says why nothing was read (busy, or the PSA's error)."""

    mailbox_id: int
    connection_id: int | None
    queued: int = 0
    sent: tuple[notices.Sent, ...] = ()
    detail: str = ""


def relay_due(runtime: Runtime) -> list[Relayed]:
    """Every mailbox that relays comments, once."""
    with runtime.session_factory() as session:
        boxes = [m.id for m in session.scalars(select(ServiceDeskMailbox)) if relay_from(m)]
    return [done for mailbox_id in boxes for done in relay_mailbox(runtime, mailbox_id)]


def relay_mailbox(runtime: Runtime, mailbox_id: int) -> list[Relayed]:
    now = runtime.clock()
    with runtime.session_factory() as session:
        mailbox = session.get(ServiceDeskMailbox, mailbox_id)
        start = relay_from(mailbox) if mailbox is not None else None
        if start is None:
            return []
        if _mail_in_hand(session, mailbox_id, now):
            return [Relayed(mailbox_id, None, detail="A mail is being handled; next run.")]
        tickets = _open_tickets(session, mailbox_id)
        marks = {
            m.connection_id: m.since
            for m in session.scalars(
                select(ServiceDeskRelayMark).where(ServiceDeskRelayMark.mailbox_id == mailbox_id)
            )
        }
    done = []
    for connection_id, by_ticket in tickets.items():
        mark = marks.get(connection_id)
        since = max(start, mark - OVERLAP) if mark is not None else start
        try:
            notes = _read(runtime, connection_id, since, sorted(by_ticket))
        except (IntegrationUnavailable, ConnectorError) as exc:
            detail = exc.message if isinstance(exc, IntegrationUnavailable) else str(exc)
            log.warning("relay of mailbox %s: %s", mailbox_id, detail)
            done.append(Relayed(mailbox_id, connection_id, detail=detail))
            continue
        with session_scope(runtime.session_factory) as session:
            queued = _queue(session, mailbox_id, connection_id, by_ticket, notes, now)
            _advance(session, mailbox_id, connection_id, notes, mark or start, now)
        sent = tuple(notices.send(runtime, notice_id) for notice_id in queued)
        done.append(Relayed(mailbox_id, connection_id, len(queued), sent))
    return done


def _mail_in_hand(session: Session, mailbox_id: int, now: datetime) -> bool:
    return (
        session.scalars(
            select(ServiceDeskMail.id)
            .where(
                ServiceDeskMail.mailbox_id == mailbox_id,
                ServiceDeskMail.outcome == PENDING,
                ServiceDeskMail.processed_at > now - LEASE,
            )
            .limit(1)
        ).first()
        is not None
    )


def _open_tickets(session: Session, mailbox_id: int) -> dict[int, dict[int, int]]:
    """connection id -> PSA ticket id -> conversation id, for open tickets with a reporter."""
    found: dict[int, dict[int, int]] = {}
    for conversation in session.scalars(
        select(ServiceDeskConversation).where(
            ServiceDeskConversation.mailbox_id == mailbox_id,
            ServiceDeskConversation.state == threads.OPEN,
            ServiceDeskConversation.connection_id.is_not(None),
            ServiceDeskConversation.sender != "",
        )
    ):
        assert conversation.connection_id is not None
        found.setdefault(conversation.connection_id, {})[conversation.ticket_id] = conversation.id
    return found


def _read(
    runtime: Runtime, connection_id: int, since: datetime, ticket_ids: list[int]
) -> list[RemoteNote]:
    with (
        runtime.session_factory() as session,
        active_connection.active(
            runtime, session, connection_id, priority=Priority.ROUNDTRIP
        ) as psa,
    ):
        session.commit()  # the settings are read: no connection is held while the PSA answers
        return registry.notes(psa.kind).changed_since(psa.connector, since, ticket_ids)


def _queue(
    session: Session,
    mailbox_id: int,
    connection_id: int,
    by_ticket: dict[int, int],
    notes: list[RemoteNote],
    now: datetime,
) -> list[int]:
    mailbox = session.get(ServiceDeskMailbox, mailbox_id)
    if mailbox is None or relay_from(mailbox) is None:
        return []  # turned off (or deleted) while the PSA answered
    ours = [n for n in notes if n.ticket_id in by_ticket]
    keys = {n.id: f"{connection_id}:{n.id}" for n in ours}
    relayed = set(
        session.scalars(
            select(ServiceDeskNotice.note_key).where(
                ServiceDeskNotice.mailbox_id == mailbox_id,
                ServiceDeskNotice.note_key.in_(list(keys.values())),
            )
        )
    )
    written = _desk_written(session, list(by_ticket.values()))
    queued = []
    for note in ours:
        refusal = relay_refusal(
            note_id=str(note.id),
            visibility=note.visibility,
            by_customer=note.by_customer,
            desk_written=written,
            relayed=keys[note.id] in relayed,
        )
        if refusal is not None:
            continue
        conversation = session.get(ServiceDeskConversation, by_ticket[note.ticket_id])
        assert conversation is not None
        row = _notice(session, mailbox, conversation, note, keys[note.id], now)
        try:
            with session.begin_nested():
                session.add(row)
                session.flush()
        except IntegrityError:
            continue  # another worker relayed it meanwhile
        queued.append(row.id)
    return queued


def _desk_written(session: Session, conversation_ids: list[int]) -> set[str]:
    """The comment ids the reporter's own mails made on these tickets."""
    return set(
        session.scalars(
            select(ServiceDeskMail.comment_id).where(
                ServiceDeskMail.conversation_id.in_(conversation_ids),
                ServiceDeskMail.outcome == "comment",
                ServiceDeskMail.comment_id.is_not(None),
                ~ServiceDeskMail.message_key.startswith(API_COMMENT_PREFIX),
            )
        )
    )


def _notice(
    session: Session,
    mailbox: ServiceDeskMailbox,
    conversation: ServiceDeskConversation,
    note: RemoteNote,
    note_key: str,
    now: datetime,
) -> ServiceDeskNotice:
    settings = view(mailbox)
    sender = notices.from_address(session, mailbox)
    tip, name = _tip(session, conversation)
    composed = compose_relay(
        ticket_key=conversation.ticket_key,
        tip=tip,
        text=note.text,
        author_name=note.author_name or "",
        recipient=conversation.sender,
        recipient_name=name,
        mailbox_address=sender,
        mailbox_name=settings.from_name,
        message_id=notices.new_message_id("comment", sender),
        subject_template=settings.subject_template,
    )
    return ServiceDeskNotice(
        mailbox_id=mailbox.id,
        desk_mail_id=None,
        conversation_id=conversation.id,
        note_key=note_key,
        ticket_key=conversation.ticket_key,
        recipient=conversation.sender,
        headers=[[name, value] for name, value in composed.headers],
        body=composed.body,
        state=notices.PENDING,
        attempts=0,
        detail="",
        created_at=now,
        due_at=now,
    )


def _tip(session: Session, conversation: ServiceDeskConversation) -> tuple[ThreadTip, str]:
    """The conversation's last message (the reporter's latest mail, or the desk's latest mail
    to them when that is newer) and the reporter's name as their mail gave it."""
    mails = select(ServiceDeskMail).where(
        ServiceDeskMail.conversation_id == conversation.id,
        ServiceDeskMail.outcome.in_(threads.MADE),
        ~ServiceDeskMail.message_key.startswith(API_PREFIX),
        ~ServiceDeskMail.message_key.startswith(API_COMMENT_PREFIX),
    )
    last_mail = session.scalars(
        mails.order_by(ServiceDeskMail.received_at.desc(), ServiceDeskMail.id.desc()).limit(1)
    ).first()
    made_here = select(ServiceDeskMail.id).where(ServiceDeskMail.conversation_id == conversation.id)
    last_notice = session.scalars(
        select(ServiceDeskNotice)
        .where(
            (ServiceDeskNotice.conversation_id == conversation.id)
            | ServiceDeskNotice.desk_mail_id.in_(made_here),
            ServiceDeskNotice.state != notices.CANCELLED,
        )
        .order_by(ServiceDeskNotice.created_at.desc(), ServiceDeskNotice.id.desc())
        .limit(1)
    ).first()
    parsed = None
    if last_mail is not None and last_mail.mail_id is not None:
        stored = session.get(MailMessage, last_mail.mail_id)
        raw = raw_bytes(stored) if stored is not None else None
        parsed = parse_desk_mail(raw) if raw is not None else None
    name = parsed.sender_name if parsed is not None else ""
    if last_notice is not None and (
        last_mail is None or last_notice.created_at >= last_mail.received_at
    ):
        ours = Notification(tuple((n, v) for n, v in last_notice.headers), last_notice.body)
        references = tuple(r.strip("<>") for r in ours.header("References").split() if r)
        return ThreadTip(
            ours.header("Message-ID").strip("<>"), references, ours.header("Subject")
        ), name
    if last_mail is None:
        return ThreadTip(""), name
    if parsed is None:
        return ThreadTip(last_mail.message_key), name
    return ThreadTip(
        last_mail.message_key, parsed.references or parsed.in_reply_to, parsed.subject
    ), name


def _advance(
    session: Session,
    mailbox_id: int,
    connection_id: int,
    notes: list[RemoteNote],
    floor: datetime,
    now: datetime,
) -> None:
    """The watermark moves to the newest ``updated`` the PSA gave (its clock, not ours)."""
    newest = max([floor, *(n.updated for n in notes if n.updated is not None)])
    mark = session.scalars(
        select(ServiceDeskRelayMark).where(
            ServiceDeskRelayMark.mailbox_id == mailbox_id,
            ServiceDeskRelayMark.connection_id == connection_id,
        )
    ).first()
    if mark is None:
        try:
            with session.begin_nested():
                session.add(
                    ServiceDeskRelayMark(
                        mailbox_id=mailbox_id,
                        connection_id=connection_id,
                        since=newest,
                        updated_at=now,
                    )
                )
                session.flush()
        except IntegrityError:
            pass  # another worker wrote it; the next run moves it on
        return
    if newest > mark.since:
        mark.since, mark.updated_at = newest, now
