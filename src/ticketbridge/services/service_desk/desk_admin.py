"""A service-desk mailbox as an admin sees and changes it (API and the Mailboxes tab): its
routing and filters (`mailboxes`) and how the sender hears back (`notify_settings`), saved
together or refused together with every problem at its field.

Taking the desk purpose away (`remove`) deletes what the mailbox recorded: its conversations,
which mail made which ticket, the notifications. While any of that exists it is refused
(`MailboxInUse`) unless the admin says the history may go; a mailbox that should only stop
taking mail is better turned off on its mail source's page, which keeps everything.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ticketbridge.core.service_desk.routing import FieldError, RoutingRule
from ticketbridge.services.service_desk import notify_settings
from ticketbridge.services.service_desk.mailboxes import (
    MailboxRefused,
    MailboxSetup,
    configure,
    forget_desk_sources,
    mailbox_of_source,
    settings_of,
)
from ticketbridge.services.service_desk.notify_settings import NotifySetup, NotifyView
from ticketbridge.services.system import audit
from ticketbridge.storage.models import (
    MailSource,
    PsaConnection,
    ServiceDeskConversation,
    ServiceDeskMail,
    ServiceDeskMailbox,
)
from ticketbridge.storage.secrets import SecretBox

# No field holds control characters (tab and line breaks aside), and PostgreSQL stores no NUL.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class DeskMailboxNotFound(LookupError):
    pass


class MailboxInUse(RuntimeError):
    """Removing the desk purpose would delete recorded conversations and mails."""


@dataclass(frozen=True)
class MailboxView:
    """One desk mailbox with everything it is set to; never the relay's password."""

    source_id: int
    source_name: str
    source_kind: str
    mailbox_id: int
    setup: MailboxSetup
    connection_name: str | None  # None: the connection was deleted; mails wait for a new one
    notify: NotifyView
    conversations: int
    mails: int


def list_mailboxes(session: Session) -> list[MailboxView]:
    rows = session.scalars(select(ServiceDeskMailbox).order_by(ServiceDeskMailbox.source_id))
    return [_view(session, row) for row in rows]


def get_mailbox(session: Session, source_id: int) -> MailboxView:
    row = mailbox_of_source(session, source_id)
    if row is None:
        raise DeskMailboxNotFound(f"Mail source {source_id} is not a service-desk mailbox.")
    return _view(session, row)


def setup_of(session: Session, row: ServiceDeskMailbox) -> MailboxSetup:
    settings = settings_of(session, row)
    routing, filters = settings.routing, settings.filters
    return MailboxSetup(
        connection_id=row.connection_id or 0,
        default_board=routing.default_board,
        default_category=routing.default_category,
        boards=routing.boards,
        categories=routing.categories,
        labels=routing.labels,
        addresses=filters.mailbox_addresses,
        allowed_domains=filters.allowed_domains,
        blocked_senders=filters.blocked_senders,
        loop_limit=filters.loop_limit,
        loop_minutes=filters.loop_minutes,
        company_id=settings.company_id,
        company_by_sender=settings.company_by_sender,
        rules=routing.rules,
    )


def _view(session: Session, row: ServiceDeskMailbox) -> MailboxView:
    source = session.get(MailSource, row.source_id)
    assert source is not None  # the mailbox row cascades with its source
    connection = session.get(PsaConnection, row.connection_id) if row.connection_id else None
    conversations = select(func.count()).where(ServiceDeskConversation.mailbox_id == row.id)
    mails = select(func.count()).where(ServiceDeskMail.mailbox_id == row.id)
    return MailboxView(
        source_id=row.source_id,
        source_name=source.name,
        source_kind=source.kind,
        mailbox_id=row.id,
        setup=setup_of(session, row),
        connection_name=connection.name if connection is not None else None,
        notify=notify_settings.view(row),
        conversations=int(session.scalar(conversations) or 0),
        mails=int(session.scalar(mails) or 0),
    )


def save(
    session: Session,
    box: SecretBox,
    source_id: int,
    setup: MailboxSetup,
    notify: NotifySetup,
    *,
    rules: tuple[RoutingRule, ...] | None = None,
    actor: str,
    now: datetime,
) -> MailboxView:
    """Make the source a desk mailbox or change it. ``rules`` None keeps the stored rules.
    Raises `MailboxRefused` with the problems of both parts; the caller rolls back."""
    before = mailbox_of_source(session, source_id)
    if rules is None:
        rules = setup_of(session, before).rules if before is not None else ()
    setup = MailboxSetup(**{**setup.__dict__, "rules": rules})
    errors = _control_errors("", asdict(setup)) + _control_errors("notifications", asdict(notify))
    if errors:
        raise MailboxRefused(errors)  # before anything reaches the database
    try:
        row = configure(session, source_id, setup, now=now)
    except MailboxRefused as exc:
        errors += exc.errors
        # The notification settings are still checked, on a copy that is never stored.
        row = ServiceDeskMailbox(
            source_id=source_id,
            config={"addresses": [a for a in setup.addresses if a.strip()]},
            notify=before.notify if before is not None else None,
            notify_secret=before.notify_secret if before is not None else None,
        )
    try:
        notify_settings.configure(session, box, row, notify, now=now)
    except MailboxRefused as exc:
        errors += [FieldError(f"notifications.{e.field}", e.message) for e in exc.errors]
    if errors:
        raise MailboxRefused(errors)
    audit.record(
        session,
        actor=actor,
        action="service_desk.mailbox_create" if before is None else "service_desk.mailbox_update",
        subject=f"mail source {source_id}",
        details={
            "connection_id": setup.connection_id,
            "default_board": setup.default_board,
            "default_category": setup.default_category,
            "rules": len(rules),
            "notifications": notify.enabled,
            "password_changed": bool(notify.password) or notify.clear_password,
        },
    )
    return _view(session, row)


def _control_errors(at: str, value: object) -> list[FieldError]:
    """Each field holding a control character, by its path ("rules[0].name"); a list of
    texts (boards, labels) is one field."""
    if isinstance(value, str):
        found = _CONTROL.search(value) is not None
        return [FieldError(at, "Control characters are not allowed.")] if found else []
    if isinstance(value, dict):
        return [e for k, v in value.items() for e in _control_errors(f"{at}.{k}".lstrip("."), v)]
    if isinstance(value, list | tuple):
        if any(isinstance(v, dict) for v in value):
            return [e for i, v in enumerate(value) for e in _control_errors(f"{at}[{i}]", v)]
        return _control_errors(at, "".join(map(str, value)))
    return []


def remove(session: Session, source_id: int, *, discard_history: bool, actor: str) -> None:
    """The source goes back to backup reports. Refused while history exists, unless
    ``discard_history``: the recorded conversations and mails are deleted with the mailbox."""
    view = get_mailbox(session, source_id)
    if (view.conversations or view.mails) and not discard_history:
        raise MailboxInUse(
            f"This mailbox has {view.conversations} conversations and {view.mails} mails "
            "recorded; removing it deletes them. Turn the mail source off to keep them, or "
            "confirm that the history may be deleted."
        )
    row = session.get(ServiceDeskMailbox, view.mailbox_id)
    session.delete(row)
    session.flush()
    forget_desk_sources(session)
    audit.record(
        session,
        actor=actor,
        action="service_desk.mailbox_delete",
        subject=f"mail source {source_id}",
        details={"conversations": view.conversations, "mails": view.mails},
    )
