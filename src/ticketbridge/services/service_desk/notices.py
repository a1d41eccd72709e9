"""The sender of a mail that made a ticket hears back (docs/service-desk.md, Notifications).

`queue` composes the notification (core/service_desk/notifications.py) in the transaction that
records the ticket, so a ticket recorded always has its notice and a mail handled again (a
re-delivered copy, a re-run) never gets a second one: the notice is unique per mail. Mail a
program wrote (an auto-reply, a bounce: `filters.machine_made`) is never answered, even when an
operator made a ticket of it anyway.

`send` delivers one notice outside any transaction, in three steps like the tickets themselves:
claim it (``sending``, leased for `LEASE`, so a second worker leaves it alone), hand it to the
mailbox's transport, record ``sent`` or ``failed`` with the reason. A failure never touches the
ticket: the notice is tried again by `send_due` after a growing pause, at most `MAX_ATTEMPTS`
times, and keeps the same Message-ID, so a receiver can tell a repeat. Turning notifications
off cancels the notices not sent yet. A worker that died
mid-send leaves its lease to expire and the notice is sent again: at least once, never lost.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

from pydantic import ValidationError
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from ticketbridge.connectors.errors import ConnectorConfigError, ConnectorError
from ticketbridge.connectors.registry import load
from ticketbridge.core.plain_text import cap
from ticketbridge.core.service_desk.filters import FilterConfig, machine_made
from ticketbridge.core.service_desk.mail import DeskMail
from ticketbridge.core.service_desk.notifications import Notification, compose_notification
from ticketbridge.services.mail.mailbox_auth import StoredTokenCache
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.service_desk.notify_settings import view
from ticketbridge.storage.db import session_scope
from ticketbridge.storage.models import (
    MailSource,
    ServiceDeskMail,
    ServiceDeskMailbox,
    ServiceDeskNotice,
)
from ticketbridge.storage.secrets import SecretBox

# transport -> "module:Class"; the class carries its pydantic `Config` (habit 1 and 3).
SENDERS: dict[str, str] = {
    "smtp": "ticketbridge.connectors.mail.smtp_relay:SmtpRelaySender",
    "graph": "ticketbridge.connectors.mail.graph_send:GraphSender",
}
PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"
CANCELLED = "cancelled"  # notifications were turned off before it was sent
UNSENT = (PENDING, SENDING, FAILED)
LEASE = timedelta(minutes=10)
MAX_ATTEMPTS = 6
FIRST_PAUSE = timedelta(minutes=2)  # then 4, 8, 16, 32 minutes


@dataclass(frozen=True)
class Sent:
    """What became of one notice: ``sent``, ``failed`` (with the reason) or ``busy`` (sent,
    cancelled, or another worker has it)."""

    notice_id: int
    outcome: str
    detail: str = ""


def queue(
    session: Session,
    *,
    mailbox_id: int,
    desk_mail_id: int,
    mail: DeskMail,
    ticket_key: str,
    board: str,
    now: datetime,
    ticket_url: str = "",
) -> int | None:
    """The notice for a ticket a mail made, when the mailbox notifies; its id."""
    mailbox = session.get(ServiceDeskMailbox, mailbox_id)
    if mailbox is None or not mail.sender:
        return None
    settings = view(mailbox)
    addresses = tuple((mailbox.config or {}).get("addresses") or ())
    if not settings.enabled or machine_made(mail, FilterConfig(addresses)) is not None:
        return None  # off, or an auto-reply an operator made a ticket of anyway: not answered
    sender = from_address(session, mailbox)
    note = compose_notification(
        mail,
        ticket_key=ticket_key,
        mailbox_address=sender,
        mailbox_name=settings.from_name,
        template=settings.body_template,
        subject_template=settings.subject_template,
        message_id=new_message_id("notice", sender),
        board=board,
        ticket_url=ticket_url,
    )
    made = session.get(ServiceDeskMail, desk_mail_id)
    row = ServiceDeskNotice(
        mailbox_id=mailbox_id,
        desk_mail_id=desk_mail_id,
        conversation_id=made.conversation_id if made is not None else None,
        ticket_key=ticket_key,
        recipient=mail.sender,
        headers=[[name, value] for name, value in note.headers],
        body=note.body,
        state=PENDING,
        attempts=0,
        detail="",
        created_at=now,
        due_at=now,
    )
    session.add(row)
    session.flush()
    return row.id


def from_address(session: Session, mailbox: ServiceDeskMailbox) -> str:
    """Who the desk's mail is from: Graph sends as the mailbox it reads; a relay as the
    configured address, else the mailbox's first own address."""
    settings = view(mailbox)
    if settings.transport == "graph":
        source = session.get(MailSource, mailbox.source_id)
        return str((source.config or {}).get("mailbox", "")) if source is not None else ""
    addresses = tuple((mailbox.config or {}).get("addresses") or ())
    return settings.from_address or (addresses[0] if addresses else "")


def new_message_id(prefix: str, sender: str) -> str:
    """A Message-ID (without brackets) in the sender's domain, kept across retries."""
    domain = sender.rpartition("@")[2] or "ticketbridge.invalid"
    return f"{prefix}-{uuid.uuid4().hex}@{domain}"


def send_due(runtime: Runtime, *, limit: int = 50) -> list[Sent]:
    """Every notice due: new ones a crash left unsent, failed ones whose pause is over."""
    now = runtime.clock()
    with runtime.session_factory() as session:
        ids = list(
            session.scalars(
                select(ServiceDeskNotice.id)
                .where(
                    ServiceDeskNotice.state.in_(UNSENT),
                    ServiceDeskNotice.due_at <= now,
                    ServiceDeskNotice.attempts < MAX_ATTEMPTS,
                )
                .order_by(ServiceDeskNotice.due_at, ServiceDeskNotice.id)
                .limit(limit)
            )
        )
    return [send(runtime, notice_id) for notice_id in ids]


def send(runtime: Runtime, notice_id: int) -> Sent:
    now = runtime.clock()
    with session_scope(runtime.session_factory) as session:
        claimed = _claim(session, runtime.secret_box, notice_id, now)
        if claimed is None:
            return Sent(notice_id, "busy", "Sent or cancelled, or another worker is sending it.")
        message, recipient, kind, config, attempts, signed_in = claimed
    try:
        sender = _sender(runtime, kind, config, signed_in)
        try:
            sender.send(message, recipients=[recipient])
        finally:
            sender.close()
    except ConnectorError as exc:
        detail = cap(f"Not sent (attempt {attempts}): {exc.message}", 2000)
        pause = FIRST_PAUSE * 2 ** (attempts - 1)
        _finish(runtime, notice_id, state=FAILED, detail=detail, due_at=runtime.clock() + pause)
        return Sent(notice_id, FAILED, detail)
    _finish(runtime, notice_id, state=SENT, detail="", sent_at=runtime.clock())
    return Sent(notice_id, SENT)


def _claim(
    session: Session, box: SecretBox, notice_id: int, now: datetime
) -> tuple[EmailMessage, str, str, dict[str, Any], int, StoredTokenCache | None] | None:
    notice = session.get(ServiceDeskNotice, notice_id)
    if notice is None or notice.state not in UNSENT:
        return None
    mailbox = session.get(ServiceDeskMailbox, notice.mailbox_id)
    assert mailbox is not None  # the notice cascades with its mailbox
    if not view(mailbox).enabled:
        notice.state, notice.detail = CANCELLED, "Notifications were turned off; not sent."
        return None
    result = session.execute(
        update(ServiceDeskNotice)
        .where(
            ServiceDeskNotice.id == notice_id,
            ServiceDeskNotice.attempts == notice.attempts,
            or_(ServiceDeskNotice.state != SENDING, ServiceDeskNotice.due_at <= now),
        )
        .values(state=SENDING, attempts=notice.attempts + 1, due_at=now + LEASE)
        .execution_options(synchronize_session=False)
    )
    if int(getattr(result, "rowcount", 0) or 0) != 1:
        return None
    kind, config, signed_in = _transport(session, box, mailbox)
    note = Notification(tuple((name, value) for name, value in notice.headers), notice.body)
    message = note.to_email_message()
    return message, notice.recipient, kind, config, notice.attempts + 1, signed_in


def _transport(
    session: Session, box: SecretBox, mailbox: ServiceDeskMailbox
) -> tuple[str, dict[str, Any], StoredTokenCache | None]:
    """The mailbox's transport as it is now (an admin may have fixed it since the failure);
    for Graph, the source's delegated sign-in when it has one (`mailbox authenticate`)."""
    settings = view(mailbox)
    if settings.transport == "graph":
        source = session.get(MailSource, mailbox.source_id)
        config = dict(source.config or {}) if source is not None else {}
        # None for a delegated mailbox without a client secret: it sends as its signed-in user.
        secret = box.decrypt(source.secret) if source is not None and source.secret else None
        signed_in = (
            StoredTokenCache.of(source, box, None)
            if source is not None and source.token_cache
            else None
        )
        return "graph", {**config, "client_secret": secret}, signed_in
    password = box.decrypt(mailbox.notify_secret) if mailbox.notify_secret else None
    return "smtp", {**settings.smtp, "password": password}, None


def _sender(
    runtime: Runtime, kind: str, config: dict[str, Any], signed_in: StoredTokenCache | None
) -> Any:
    cls = load(kind, SENDERS)
    try:
        parsed = cls.Config.model_validate(config)
    except ValidationError as exc:
        # Field names only: a validation error's text repeats the input, secret included.
        fields = ", ".join(sorted({".".join(map(str, e["loc"])) for e in exc.errors()}))
        raise ConnectorConfigError(f"The {kind} settings are not complete ({fields}).") from None
    options = dict(runtime.mail_options.get(kind, {}))
    if signed_in is not None and "token_provider" not in options:
        signed_in.factory = runtime.session_factory  # msal's renewals are written back
        options["token_cache"] = signed_in
    return cls(parsed, **options)


def _finish(runtime: Runtime, notice_id: int, *, state: str, detail: str, **values: Any) -> None:
    with session_scope(runtime.session_factory) as session:
        session.execute(
            update(ServiceDeskNotice)
            .where(ServiceDeskNotice.id == notice_id)
            .values(state=state, detail=detail, **values)
            .execution_options(synchronize_session=False)
        )
