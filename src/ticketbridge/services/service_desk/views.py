"""What the Service desk page lists: conversations with their ticket, and the mails the filters
stopped with their reason. Reads only; one query per list and one for its count."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Generic, TypeVar

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from ticketbridge.core.service_desk.filters import FilterReason
from ticketbridge.services.service_desk.release import STOPPED, has_ticket_link, may_release
from ticketbridge.storage.models import (
    MailMessage,
    MailSource,
    PsaConnection,
    ServiceDeskConversation,
    ServiceDeskMail,
    ServiceDeskMailbox,
)

T = TypeVar("T")
STATES = ("open", "deleted")
REASONS: dict[str, str] = {
    FilterReason.OWN_NOTIFICATION: "Our own notification",
    FilterReason.OWN_MAILBOX: "Sent by the mailbox itself",
    FilterReason.BOUNCE: "Bounce or report",
    FilterReason.AUTO_REPLY: "Automatic reply",
    FilterReason.BULK: "Bulk or list mail",
    FilterReason.BLOCKED_SENDER: "Blocked sender",
    FilterReason.DOMAIN_NOT_ALLOWED: "Domain not allowed",
    FilterReason.LOOP: "Held: possible mail loop",
}


@dataclass(frozen=True)
class Mailbox:
    id: int
    name: str


@dataclass(frozen=True)
class ConversationRow:
    id: int
    ticket_key: str
    state: str
    mailbox: str
    sender: str
    created_at: datetime
    last_mail_at: datetime
    mails: int
    linked: bool  # the connection's kind has a ticket page to link to
    replaces: str | None
    # Files of the conversation's mails that did not reach the ticket: (name, reason).
    skipped_files: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class StoppedRow:
    id: int
    mailbox: str
    sender: str
    subject: str
    received_at: datetime
    outcome: str  # filtered | held, or what "create anyway" made
    reason: str
    reason_label: str
    detail: str
    ticket_key: str | None
    may_release: bool


@dataclass(frozen=True)
class Listing(Generic[T]):
    rows: list[T]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def mailboxes(session: Session) -> list[Mailbox]:
    rows = session.execute(
        select(ServiceDeskMailbox.id, MailSource.name)
        .join(MailSource, MailSource.id == ServiceDeskMailbox.source_id)
        .order_by(MailSource.name, ServiceDeskMailbox.id)
    )
    return [Mailbox(id, name) for id, name in rows]


def conversations(
    session: Session,
    *,
    mailbox_id: int | None = None,
    state: str | None = None,
    search: str = "",
    page: int = 1,
    per_page: int = 50,
) -> Listing[ConversationRow]:
    """Latest mail first. ``search``: part of the ticket key or the sender."""
    where: list[ColumnElement[bool]] = []
    if mailbox_id is not None:
        where.append(ServiceDeskConversation.mailbox_id == mailbox_id)
    if state:
        where.append(ServiceDeskConversation.state == state)
    if search.strip():
        like = f"%{_escaped(search.strip().lower())}%"
        where.append(
            or_(
                func.lower(ServiceDeskConversation.ticket_key).like(like, escape="\\"),
                func.lower(ServiceDeskConversation.sender).like(like, escape="\\"),
            )
        )
    total = session.scalar(select(func.count(ServiceDeskConversation.id)).where(*where)) or 0
    counts = (
        select(ServiceDeskMail.conversation_id, func.count(ServiceDeskMail.id).label("mails"))
        .group_by(ServiceDeskMail.conversation_id)
        .subquery()
    )
    replaced = select(ServiceDeskConversation.id, ServiceDeskConversation.ticket_key).subquery()
    rows = session.execute(
        select(
            ServiceDeskConversation,
            MailSource.name,
            func.coalesce(counts.c.mails, 0),
            PsaConnection.kind,
            replaced.c.ticket_key,
        )
        .join(ServiceDeskMailbox, ServiceDeskMailbox.id == ServiceDeskConversation.mailbox_id)
        .join(MailSource, MailSource.id == ServiceDeskMailbox.source_id)
        .outerjoin(counts, counts.c.conversation_id == ServiceDeskConversation.id)
        .outerjoin(PsaConnection, PsaConnection.id == ServiceDeskConversation.connection_id)
        .outerjoin(replaced, replaced.c.id == ServiceDeskConversation.replaces_id)
        .where(*where)
        .order_by(ServiceDeskConversation.last_mail_at.desc(), ServiceDeskConversation.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    found = [
        ConversationRow(
            id=c.id,
            ticket_key=c.ticket_key,
            state=c.state,
            mailbox=mailbox,
            sender=c.sender,
            created_at=c.created_at,
            last_mail_at=c.last_mail_at,
            mails=int(mails),
            linked=kind is not None and has_ticket_link(kind),
            replaces=replaces,
        )
        for c, mailbox, mails, kind, replaces in rows
    ]
    skipped = _skipped_files(session, [row.id for row in found])
    found = [replace(row, skipped_files=skipped.get(row.id, ())) for row in found]
    return Listing(found, total, page, per_page)


def _skipped_files(
    session: Session, conversation_ids: list[int]
) -> dict[int, tuple[tuple[str, str], ...]]:
    """The files each conversation's mails left off its ticket, with why, oldest mail first."""
    if not conversation_ids:
        return {}
    found: dict[int, list[tuple[str, str]]] = {}
    rows = session.execute(
        select(ServiceDeskMail.conversation_id, ServiceDeskMail.files)
        .where(
            ServiceDeskMail.conversation_id.in_(conversation_ids),
            ServiceDeskMail.files.is_not(None),
        )
        .order_by(ServiceDeskMail.received_at, ServiceDeskMail.id)
    )
    for conversation_id, files in rows:
        skipped = files.get("skipped") if isinstance(files, dict) else None
        for item in skipped or []:
            if isinstance(item, dict) and conversation_id is not None:
                entry = (str(item.get("name", "")), str(item.get("reason", "")))
                found.setdefault(conversation_id, []).append(entry)
    return {k: tuple(v) for k, v in found.items()}


def stopped_mails(
    session: Session,
    *,
    mailbox_id: int | None = None,
    reason: str | None = None,
    page: int = 1,
    per_page: int = 50,
) -> Listing[StoppedRow]:
    """Mails the filters stopped (and what a "create anyway" made of them), newest first."""
    where: list[ColumnElement[bool]] = [
        or_(ServiceDeskMail.outcome.in_(STOPPED), ServiceDeskMail.reason != "")
    ]
    if mailbox_id is not None:
        where.append(ServiceDeskMail.mailbox_id == mailbox_id)
    if reason:
        where.append(ServiceDeskMail.reason == reason)
    total = session.scalar(select(func.count(ServiceDeskMail.id)).where(*where)) or 0
    rows = session.execute(
        select(
            ServiceDeskMail,
            MailSource.name,
            MailMessage.subject,
            ServiceDeskConversation.ticket_key,
        )
        .join(ServiceDeskMailbox, ServiceDeskMailbox.id == ServiceDeskMail.mailbox_id)
        .join(MailSource, MailSource.id == ServiceDeskMailbox.source_id)
        .outerjoin(MailMessage, MailMessage.id == ServiceDeskMail.mail_id)
        .outerjoin(
            ServiceDeskConversation,
            ServiceDeskConversation.id == ServiceDeskMail.conversation_id,
        )
        .where(*where)
        .order_by(ServiceDeskMail.received_at.desc(), ServiceDeskMail.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    found = [
        StoppedRow(
            id=m.id,
            mailbox=mailbox,
            sender=m.sender,
            subject=subject or "",
            received_at=m.received_at,
            outcome=m.outcome,
            reason=m.reason,
            reason_label=REASONS.get(m.reason, m.reason or "–"),
            detail=m.detail,
            ticket_key=ticket_key,
            may_release=may_release(m) and m.mail_id is not None,
        )
        for m, mailbox, subject, ticket_key in rows
    ]
    return Listing(found, total, page, per_page)


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
