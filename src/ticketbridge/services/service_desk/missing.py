"""`ticketbridge mailbox check-missing`: the desk mails of the last days that made neither a
ticket nor a comment (core/service_desk/missing decides which), and making them now.

A mail is matched to what it made by its row in service_desk_mails (by the stored mail, so a
mail without a Message-ID is matched too). A filtered or held mail is not missing: it has its
reason. A mail whose handling failed, or that was never handled (the worker was down, or the
mail arrived while the mailbox's connection was disabled), is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ticketbridge.core.service_desk.missing import SeenMail, missing_mails
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.service_desk.intake import DESK_STATE
from ticketbridge.services.service_desk.process import Handled, process_mail
from ticketbridge.services.service_desk.threads import MADE
from ticketbridge.storage.models import MailMessage, ServiceDeskMail

STOPPED = ("filtered", "held")


@dataclass(frozen=True)
class MissingMail:
    mail_id: int
    message_id: str  # "" when the mail has none
    sender: str
    subject: str
    received_at: datetime
    last_attempt: str  # what went wrong before, or "" when it was never handled


def find_missing(session: Session, *, days: int, now: datetime) -> list[MissingMail]:
    """Oldest first."""
    since = now - timedelta(days=days)
    rows = session.execute(
        select(
            MailMessage.id,
            MailMessage.message_key,
            MailMessage.sender,
            MailMessage.subject,
            MailMessage.received_at,
            ServiceDeskMail.message_key,
            ServiceDeskMail.outcome,
            ServiceDeskMail.reason,
            ServiceDeskMail.detail,
        )
        .outerjoin(ServiceDeskMail, ServiceDeskMail.mail_id == MailMessage.id)
        .where(MailMessage.state == DESK_STATE, MailMessage.received_at >= since)
    ).all()
    seen: dict[int, tuple[SeenMail, MissingMail]] = {}
    handled: list[str] = []
    for mail_id, mail_key, sender, subject, received_at, desk_key, outcome, reason, detail in rows:
        message_id = desk_key or ("" if mail_key.startswith("sha256:") else mail_key)
        if outcome in MADE:
            handled.append(message_id)
        stopped = (reason or outcome) if outcome in STOPPED else None
        one = SeenMail(message_id, received_at, filtered_reason=stopped)
        seen[id(one)] = (
            one,
            MissingMail(
                mail_id,
                "" if mail_key.startswith("sha256:") else mail_key,
                sender,
                subject,
                received_at,
                (detail or "") if outcome not in MADE else "",
            ),
        )
    found = missing_mails((pair[0] for pair in seen.values()), handled, days=days, now=now)
    return [seen[id(one)][1] for one in found]


def fix_missing(
    runtime: Runtime,
    missing: list[MissingMail],
    *,
    progress: Callable[[Handled], None] | None = None,
) -> list[Handled]:
    """Make what each missing mail should have made, one after another."""
    results = []
    for mail in missing:
        handled = process_mail(runtime, mail.mail_id, again=True)
        results.append(handled)
        if progress is not None:
            progress(handled)
    return results
