"""A public comment added in the PSA, mailed to the ticket's reporter as a reply in their
thread: the relay (issue 16, item 5). Pure; no I/O.

`relay_refusal` says why a note is not mailed: only what the PSA calls public goes (the
connectors count a note the PSA does not call public as internal), never a comment the desk
wrote itself from the reporter's own mail (that would echo their words back and, answered,
loop), never one the customer's side wrote (they have it), and never one mailed before.

`compose_relay` answers the conversation's last message (`ThreadTip`, the reporter's mail or
one the desk sent): In-Reply-To it, References its chain and it, the ticket key in the subject
(the mailbox's subject template) so a reply finds the ticket, and the marker header so the
desk's intake filters the mail if it comes back. ``Auto-Submitted: auto-generated`` (RFC 3834:
made by a program, not an answer to a mail) keeps out-of-office replies away.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from email.utils import formataddr
from string import Template

from ticketbridge.core.plain_text import cap, one_line
from ticketbridge.core.service_desk.mail import DeskMail
from ticketbridge.core.service_desk.notifications import (
    DEFAULT_SUBJECT_TEMPLATE,
    Notification,
    notification_subject,
    reply_headers,
)
from ticketbridge.core.service_desk.subjects import DEFAULT_KEY_PATTERNS, KeyPattern

MAX_BODY_CHARS = 100_000
BODY = """$author wrote on $ticket_key:

$text

--
Reply to this mail to add to $ticket_key; keep [$ticket_key] in the subject.
"""


@dataclass(frozen=True)
class ThreadTip:
    """The conversation's last message as a reply answers it: its Message-ID (without
    brackets; empty when none is known), its References, and the subject it carried."""

    message_id: str
    references: tuple[str, ...] = ()
    subject: str = ""


def relay_refusal(
    *,
    note_id: str,
    visibility: str,
    by_customer: bool,
    desk_written: Collection[str],
    relayed: bool,
) -> str | None:
    """Why the note is not mailed to the reporter; None when it is."""
    if visibility != "public":
        return "internal"
    if note_id in desk_written:
        return "the desk's own comment"
    if by_customer:
        return "written by the customer"
    if relayed:
        return "relayed before"
    return None


def compose_relay(
    *,
    ticket_key: str,
    tip: ThreadTip,
    text: str,
    author_name: str,
    recipient: str,
    recipient_name: str,
    mailbox_address: str,
    mailbox_name: str = "",
    message_id: str = "",
    subject_template: str = DEFAULT_SUBJECT_TEMPLATE,
    key_patterns: Sequence[KeyPattern] = DEFAULT_KEY_PATTERNS,
) -> Notification:
    """The reply carrying a comment's ``text`` to ``recipient``. ``message_id`` (without
    brackets) is the caller's, made with its own domain."""
    values = {
        "sender": recipient,
        "sender_name": recipient_name or recipient,
        "mailbox": mailbox_address,
    }
    subject = notification_subject(tip.subject, ticket_key, key_patterns, subject_template, values)
    body = Template(BODY).safe_substitute(
        author=one_line(author_name) or "Support",
        ticket_key=ticket_key,
        text=cap(text.strip(), MAX_BODY_CHARS),
    )
    headers: list[tuple[str, str]] = [
        ("From", formataddr((one_line(mailbox_name), mailbox_address))),
        ("To", formataddr((one_line(recipient_name), recipient))),
        ("Subject", subject),
    ]
    if message_id:
        headers.append(("Message-ID", f"<{message_id}>"))
    answered = DeskMail(message_id=tip.message_id, sender="", references=tip.references)
    headers += reply_headers(answered, ticket_key, auto_submitted="auto-generated")
    return Notification(tuple((name, one_line(value)) for name, value in headers), body)
