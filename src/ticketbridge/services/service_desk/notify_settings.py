"""How the sender of a service-desk mail hears back: a mailbox's notification settings.

Off until an admin turns them on. The transport is an SMTP relay (host, port, security none,
starttls or tls, an optional username and password) or, for a mailbox read through Microsoft
Graph, Graph ``sendMail`` as that mailbox with the source's own app registration. The subject
and body are templates with the fields of core/service_desk/notifications.py, refused before
they are saved when they name anything else.

The relay's password is encrypted at rest and never shown: views say whether one is set. As
for mail sources (core/secret_binding.py), a change of where it goes (host, port, security,
certificate checks) or whose it is (username) forgets the stored password unless a new one
comes with the change; ``clear_password`` forgets it on purpose. Notifications off need no
relay: saved without a host, no relay and no password are kept.

``relay_comments`` (off by default) also sends the reporter the public comments added in the
PSA (services/service_desk/relay.py), through the same transport, while notifications are on.
Turning it on records when (``relay_from``): comments older than that are never sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import ValidationError
from sqlalchemy.orm import Session

from ticketbridge.connectors.mail.smtp_relay import SmtpRelayConfig
from ticketbridge.core.secret_binding import changed_destination
from ticketbridge.core.service_desk.notifications import (
    DEFAULT_SUBJECT_TEMPLATE,
    DEFAULT_TEMPLATE,
    subject_template_errors,
    template_errors,
)
from ticketbridge.core.service_desk.routing import FieldError
from ticketbridge.services.service_desk.mailboxes import MailboxRefused
from ticketbridge.storage.models import MailSource, ServiceDeskMailbox
from ticketbridge.storage.secrets import SecretBox

Transport = Literal["smtp", "graph"]
SMTP_BINDING = ("host", "port", "security", "verify_tls", "username")
_PLACEHOLDER = "x" * 12


@dataclass(frozen=True)
class NotifySetup:
    """What an admin chooses. ``password`` empty keeps the stored one (see the module's note)."""

    enabled: bool = False
    transport: Transport = "smtp"
    smtp: dict[str, Any] = field(default_factory=dict)  # SmtpRelayConfig without the password
    password: str = ""
    clear_password: bool = False  # forget the stored one (a new ``password`` wins)
    from_address: str = ""  # empty: the mailbox's first address (Graph: the mailbox itself)
    from_name: str = ""
    subject_template: str = DEFAULT_SUBJECT_TEMPLATE
    body_template: str = DEFAULT_TEMPLATE
    relay_comments: bool = False


@dataclass(frozen=True)
class NotifyView:
    """What the UI and the API may show: never the password."""

    enabled: bool
    transport: Transport
    smtp: dict[str, Any]
    password_set: bool
    from_address: str
    from_name: str
    subject_template: str
    body_template: str
    relay_comments: bool


def view(mailbox: ServiceDeskMailbox) -> NotifyView:
    notify = mailbox.notify or {}
    return NotifyView(
        enabled=bool(notify.get("enabled", False)),
        transport="graph" if notify.get("transport") == "graph" else "smtp",
        smtp=dict(notify.get("smtp") or {}),
        password_set=bool(mailbox.notify_secret),
        from_address=str(notify.get("from_address", "")),
        from_name=str(notify.get("from_name", "")),
        subject_template=str(notify.get("subject_template") or DEFAULT_SUBJECT_TEMPLATE),
        body_template=str(notify.get("body_template") or DEFAULT_TEMPLATE),
        relay_comments=bool(notify.get("relay_comments", False)),
    )


def relay_from(mailbox: ServiceDeskMailbox) -> datetime | None:
    """When the relay was turned on; None while it is off (or notifications are)."""
    notify = mailbox.notify or {}
    if not (notify.get("enabled") and notify.get("relay_comments") and notify.get("relay_from")):
        return None
    return datetime.fromisoformat(str(notify["relay_from"]))


def configure(
    session: Session,
    box: SecretBox,
    mailbox: ServiceDeskMailbox,
    setup: NotifySetup,
    *,
    now: datetime,
) -> NotifyView:
    """Save the settings, or raise `MailboxRefused` naming every field at fault."""
    errors = [
        FieldError("subject_template", m) for m in subject_template_errors(setup.subject_template)
    ]
    errors += [FieldError("body_template", m) for m in template_errors(setup.body_template)]
    source = session.get(MailSource, mailbox.source_id)
    keep_secret = bool(mailbox.notify_secret) and not (setup.password or setup.clear_password)
    smtp: dict[str, Any] = {}
    if setup.transport == "graph":
        if source is None or source.kind != "graph":
            errors.append(
                FieldError("transport", "Graph can send only for a mailbox read through Graph.")
            )
    elif not (setup.enabled or str(setup.smtp.get("host") or "").strip()):
        keep_secret = False  # notifications off and no relay named: nothing to check or keep
    else:
        smtp = {k: v for k, v in setup.smtp.items() if k != "password"}
        before = (mailbox.notify or {}).get("smtp") or {}
        try:
            # Compared as stored: a form's port "587" is the stored 587.
            smtp = SmtpRelayConfig.model_validate(smtp).model_dump(exclude={"password"})
            if keep_secret and changed_destination(before, smtp, SMTP_BINDING):
                keep_secret = False
            secret = setup.password or (_PLACEHOLDER if keep_secret else None)
            SmtpRelayConfig.model_validate({**smtp, "password": secret})
        except ValidationError as exc:
            errors += [
                FieldError(".".join(["smtp", *map(str, e["loc"])]), e["msg"]) for e in exc.errors()
            ]
        addresses = (mailbox.config or {}).get("addresses") or ()
        if not (setup.from_address.strip() or addresses):
            errors.append(
                FieldError("from_address", "Name the address notifications are sent from.")
            )
    if setup.from_address and "@" not in setup.from_address:
        errors.append(FieldError("from_address", "Not a mail address."))
    if errors:
        raise MailboxRefused(errors)
    # Turning the relay (or notifications) on starts it now: older comments, or those added
    # while it was off, were never meant to be mailed.
    before = relay_from(mailbox)
    starts = (before or now) if setup.relay_comments and setup.enabled else None
    mailbox.notify = {
        "relay_comments": setup.relay_comments,
        "relay_from": starts.isoformat() if starts is not None else None,
        "enabled": setup.enabled,
        "transport": setup.transport,
        "smtp": smtp,
        "from_address": setup.from_address.strip(),
        "from_name": setup.from_name.strip(),
        "subject_template": setup.subject_template.strip(),
        "body_template": setup.body_template,
    }
    if setup.transport == "graph" or not smtp:
        mailbox.notify_secret = None
    elif setup.password:
        mailbox.notify_secret = box.encrypt(setup.password)
    elif not keep_secret:
        mailbox.notify_secret = None
    mailbox.updated_at = now
    session.flush()
    return view(mailbox)
