"""The mail that tells a sender their ticket exists (issue 16, item 5). Pure; no I/O.

`compose_notification` gives the headers and the body; sending (an SMTP relay, Graph) is the
service's. The subject carries the ticket key once ("[SUP-123] Re: Printer down"); In-Reply-To
and References thread it to the sender's mail; `NOTIFICATION_HEADER` marks it as ours so the
desk never takes it in again; Auto-Submitted: auto-replied (RFC 3834) and
X-Auto-Response-Suppress: All (Exchange) ask other systems not to answer it automatically.

Bodies are `string.Template` texts ("$ticket_key"), not ``str.format``: a format field can
reach attributes ("{subject.__class__}"), a template placeholder only names a value. The fields
are the fixed `TEMPLATE_FIELDS`; `template_errors` refuses any other before a template is saved.
A subject template is one line and must name $ticket_key: the key in the subject is how a reply
finds its ticket again (`subject_template_errors`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr
from string import Template

from ticketbridge.core.plain_text import cap, one_line
from ticketbridge.core.service_desk.mail import DeskMail, first_header
from ticketbridge.core.service_desk.subjects import (
    DEFAULT_KEY_PATTERNS,
    NO_SUBJECT,
    KeyPattern,
    normalise_subject,
)

NOTIFICATION_HEADER = "X-Ticketbridge-Notification"
TEMPLATE_FIELDS = (
    "ticket_key",
    "subject",
    "sender",
    "sender_name",
    "mailbox",
    "board",
    "ticket_url",
)
MAX_TEMPLATE_CHARS = 10_000
MAX_SUBJECT_CHARS = 250
# RFC 5322 (3.6.4) lets a long References drop ids from its middle: the first (the thread's
# root) and the newest are the ones mail clients thread by.
MAX_REFERENCES = 20

DEFAULT_SUBJECT_TEMPLATE = "[$ticket_key] Re: $subject"
DEFAULT_TEMPLATE = """Hello $sender_name,

we have received your message "$subject" and opened ticket $ticket_key for it.

To add to it, reply to this mail and keep [$ticket_key] in the subject.

This message was sent automatically by $mailbox.
"""


def template_errors(template: str) -> list[str]:
    """What is wrong with a body template; empty when it may be saved."""
    if not template.strip():
        return ["A template is required."]
    if len(template) > MAX_TEMPLATE_CHARS:
        return [f"A template has at most {MAX_TEMPLATE_CHARS:,} characters."]
    parsed = Template(template)
    if not parsed.is_valid():
        return ["A $ must start a field such as $ticket_key; write $$ for a dollar sign."]
    unknown = sorted(set(parsed.get_identifiers()) - set(TEMPLATE_FIELDS))
    if unknown:
        known = ", ".join(f"${name}" for name in TEMPLATE_FIELDS)
        return [f"Unknown field {', '.join('$' + n for n in unknown)}; the fields are {known}."]
    return []


def subject_template_errors(template: str) -> list[str]:
    """What is wrong with a subject template; empty when it may be saved."""
    errors = template_errors(template)
    if errors:
        return errors
    if "\n" in template.strip() or len(template) > MAX_SUBJECT_CHARS:
        return [f"A subject is one line of at most {MAX_SUBJECT_CHARS} characters."]
    if "ticket_key" not in Template(template).get_identifiers():
        return ["A subject must contain $ticket_key: replies find their ticket by it."]
    return []


@dataclass(frozen=True)
class Notification:
    headers: tuple[tuple[str, str], ...]
    body: str

    def header(self, name: str) -> str:
        return first_header(self.headers, name)

    def to_email_message(self) -> EmailMessage:
        """The mail to hand to an SMTP relay (a Message-ID, if any, is among the headers)."""
        message = EmailMessage()
        for name, value in self.headers:
            message[name] = value
        message.set_content(self.body)
        return message


def notification_subject(
    subject: str,
    ticket_key: str,
    key_patterns: Sequence[KeyPattern] = DEFAULT_KEY_PATTERNS,
    template: str = DEFAULT_SUBJECT_TEMPLATE,
    values: dict[str, str] | None = None,
) -> str:
    """ "[SUP-123] Re: <subject>" by default, the key once whatever the subject already
    carried. ``values`` fill a template's other fields."""
    rest = _without_key(subject, ticket_key, key_patterns)
    fields = {**(values or {}), "ticket_key": ticket_key, "subject": rest}
    filled = Template(template).safe_substitute({k: one_line(v) for k, v in fields.items()})
    return cap(one_line(filled), MAX_SUBJECT_CHARS)


def _without_key(subject: str, ticket_key: str, key_patterns: Sequence[KeyPattern]) -> str:
    rest = normalise_subject(subject, key_patterns)
    return " ".join(rest.replace(f"[{ticket_key}]", " ").split()) or NO_SUBJECT


def compose_notification(
    mail: DeskMail,
    *,
    ticket_key: str,
    mailbox_address: str,
    template: str = DEFAULT_TEMPLATE,
    subject_template: str = DEFAULT_SUBJECT_TEMPLATE,
    message_id: str = "",
    mailbox_name: str = "",
    board: str = "",
    ticket_url: str = "",
    key_patterns: Sequence[KeyPattern] = DEFAULT_KEY_PATTERNS,
) -> Notification:
    """The notification answering ``mail`` for ``ticket_key``. ``message_id`` (without
    brackets) is the caller's, made with its own domain; none leaves the relay to add one.
    A template `template_errors` refuses leaves unknown fields as written."""
    values = {
        "ticket_key": ticket_key,
        "subject": normalise_subject(mail.subject, key_patterns) or NO_SUBJECT,
        "sender": mail.sender,
        "sender_name": mail.sender_name or mail.sender,
        "mailbox": mailbox_address,
        "board": board,
        "ticket_url": ticket_url,
    }
    body = Template(template).safe_substitute({k: one_line(v) for k, v in values.items()})
    subject = notification_subject(mail.subject, ticket_key, key_patterns, subject_template, values)
    headers: list[tuple[str, str]] = [
        ("From", formataddr((one_line(mailbox_name), mailbox_address))),
        ("To", formataddr((one_line(mail.sender_name), mail.sender))),
        ("Subject", subject),
    ]
    if message_id:
        headers.append(("Message-ID", f"<{message_id}>"))
    headers += reply_headers(mail, ticket_key)
    return Notification(tuple((name, one_line(value)) for name, value in headers), body)


def reply_headers(
    answered: DeskMail, ticket_key: str, *, auto_submitted: str = "auto-replied"
) -> list[tuple[str, str]]:
    """Threading to ``answered`` (when it has a Message-ID), then the headers that keep other
    systems from answering and mark the mail as the desk's own."""
    headers: list[tuple[str, str]] = []
    if answered.message_id:
        headers.append(("In-Reply-To", f"<{answered.message_id}>"))
        references = thread_references(answered)
        headers.append(("References", " ".join(f"<{ref}>" for ref in references)))
    return [
        *headers,
        ("Auto-Submitted", auto_submitted),
        ("X-Auto-Response-Suppress", "All"),
        (NOTIFICATION_HEADER, ticket_key),
    ]


def thread_references(mail: DeskMail) -> tuple[str, ...]:
    """References for an answer to ``mail``: its own References (or In-Reply-To) and its id,
    at most `MAX_REFERENCES`, keeping the root and the newest."""
    chain = list(mail.references or mail.in_reply_to)
    if mail.message_id and mail.message_id not in chain:
        chain.append(mail.message_id)
    if len(chain) > MAX_REFERENCES:
        chain = [chain[0], *chain[-(MAX_REFERENCES - 1) :]]
    return tuple(chain)
