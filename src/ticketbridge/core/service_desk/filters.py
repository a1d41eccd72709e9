"""Which mail may become a ticket or a comment, and why not (issue 16, item 3). Pure; no I/O.

`screen` runs the checks in this order; the first that fails decides, and its reason is what
the operator sees on the mail:

1. our own notification (the `NOTIFICATION_HEADER` marker): we wrote it;
2. sent by the mailbox itself (From is one of its own addresses);
3. a bounce or report: a multipart/report (delivery status, read receipt), the null sender
   (Return-Path: <>), or a MAILER-DAEMON or postmaster sender;
4. an automatic reply: Auto-Submitted other than "no" (RFC 3834), X-Autoreply, X-Autorespond,
   Precedence: auto_reply, or Exchange's pair for a rule-made message that asks for no answer;
5. bulk and list mail: Precedence bulk, junk or list;
6. a blocked sender (an address, or a domain and its subdomains);
7. a sender outside the allowed domains (none configured: every domain is allowed);
8. loop protection: a sender that already made `loop_limit` tickets within `loop_minutes` is
   *held* for review rather than dropped (the only check that holds).

Machine-made mail comes first because nobody there can be answered; who may write comes next;
the loop check is last, so that a held mail is one every other check let through. It holds any
such mail of the sender, a reply too: while a loop runs, nothing of that sender is trusted.

X-Auto-Response-Suppress alone is not taken as a sign of an automatic reply: it is a request
("do not answer me automatically") that people's own Outlook mail can carry too. List-Id alone
is not taken as list mail: a customer's support group that forwards to us may add it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from ticketbridge.core.mail_keys import sender_matches
from ticketbridge.core.service_desk.mail import DeskMail
from ticketbridge.core.service_desk.notifications import NOTIFICATION_HEADER


class Outcome(StrEnum):
    ACCEPT = "accept"
    FILTER = "filter"  # dropped, with its reason kept on the mail ("create anyway" stays open)
    HOLD = "hold"  # waits for an operator's review


class FilterReason(StrEnum):
    OWN_NOTIFICATION = "own_notification"
    OWN_MAILBOX = "own_mailbox"
    BOUNCE = "bounce"
    AUTO_REPLY = "auto_reply"
    BULK = "bulk"
    BLOCKED_SENDER = "blocked_sender"
    DOMAIN_NOT_ALLOWED = "domain_not_allowed"
    LOOP = "loop"


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    reason: FilterReason | None = None
    detail: str = ""  # one sentence an operator can read

    @property
    def accepted(self) -> bool:
        return self.outcome is Outcome.ACCEPT


ACCEPTED = Verdict(Outcome.ACCEPT)


@dataclass(frozen=True)
class FilterConfig:
    mailbox_addresses: tuple[str, ...] = ()
    allowed_domains: tuple[str, ...] = ()  # empty: every domain
    blocked_senders: tuple[str, ...] = ()  # "someone@x.example", "x.example" or "@x.example"
    loop_limit: int = 5
    loop_minutes: int = 60


_NOT_AUTOMATIC = frozenset({"", "no", "false", "0"})
_BOUNCE_SENDERS = frozenset({"mailer-daemon", "postmaster"})
_BULK_PRECEDENCE = frozenset({"bulk", "junk", "list"})


def screen(
    mail: DeskMail,
    config: FilterConfig,
    *,
    now: datetime,
    recent_ticket_times: Iterable[datetime] = (),
) -> Verdict:
    """The first failing check in the module's order, or `ACCEPTED`. ``recent_ticket_times``
    are when the sender's earlier mails made tickets (only recent ones matter)."""
    found = machine_made(mail, config)
    if found is not None:
        return Verdict(Outcome.FILTER, *found)
    if any(sender_matches(entry, mail.sender) for entry in config.blocked_senders):
        return Verdict(Outcome.FILTER, FilterReason.BLOCKED_SENDER, f"{mail.sender} is blocked.")
    if config.allowed_domains and not any(
        sender_matches(domain.lstrip("@"), mail.sender) for domain in config.allowed_domains
    ):
        detail = f"{mail.sender or 'The sender'} is not in an allowed domain."
        return Verdict(Outcome.FILTER, FilterReason.DOMAIN_NOT_ALLOWED, detail)
    loop = loop_decision(
        recent_ticket_times, limit=config.loop_limit, minutes=config.loop_minutes, now=now
    )
    if loop.hold:
        return Verdict(Outcome.HOLD, FilterReason.LOOP, f"{mail.sender}: {loop.detail}")
    return ACCEPTED


def machine_made(mail: DeskMail, config: FilterConfig) -> _Found:
    """Checks 1-5: mail a program wrote, which nobody there reads. Such mail is never answered
    automatically (RFC 3834, 2), even when an operator made a ticket of it anyway."""
    for check in (_own_notification, _own_mailbox, _bounce, _automatic_reply, _bulk):
        found = check(mail, config)
        if found is not None:
            return found
    return None


@dataclass(frozen=True)
class LoopDecision:
    hold: bool
    count: int
    detail: str


def loop_decision(
    ticket_times: Iterable[datetime], *, limit: int, minutes: int, now: datetime
) -> LoopDecision:
    """At most ``limit`` new tickets per sender within ``minutes``: the next mail is held.
    A limit below 1 switches the check off. Times ahead of ``now`` (another clock) count."""
    since = now - timedelta(minutes=minutes)
    count = sum(1 for created in ticket_times if created > since)
    if limit < 1 or count < limit:
        return LoopDecision(False, count, "")
    detail = (
        f"{count} tickets in the last {minutes} minutes (limit {limit}); "
        "held for review in case of a mail loop."
    )
    return LoopDecision(True, count, detail)


_Found = tuple[FilterReason, str] | None


def _own_notification(mail: DeskMail, _config: FilterConfig) -> _Found:
    if mail.header(NOTIFICATION_HEADER):
        return FilterReason.OWN_NOTIFICATION, f"Our own notification ({NOTIFICATION_HEADER})."
    return None


def _own_mailbox(mail: DeskMail, config: FilterConfig) -> _Found:
    own = {address.strip().lower() for address in config.mailbox_addresses}
    if mail.sender and mail.sender in own:
        return FilterReason.OWN_MAILBOX, f"Sent by this mailbox itself ({mail.sender})."
    return None


def _bounce(mail: DeskMail, _config: FilterConfig) -> _Found:
    if mail.content_type == "multipart/report":
        kind = {
            "delivery-status": "A delivery status report (bounce)",
            "disposition-notification": "A read receipt",
        }.get(mail.report_type, f"An automatic report ({mail.report_type or 'no type'})")
        return FilterReason.BOUNCE, f"{kind}: multipart/report."
    if mail.return_path == "":
        return FilterReason.BOUNCE, "Sent with the null sender (Return-Path: <>)."
    local_part = mail.sender.partition("@")[0]
    if local_part in _BOUNCE_SENDERS:
        return FilterReason.BOUNCE, f"Sent by {mail.sender}, a mail system's address."
    return None


def _automatic_reply(mail: DeskMail, _config: FilterConfig) -> _Found:
    submitted = mail.header("auto-submitted").split(";")[0].strip().lower()
    if submitted not in _NOT_AUTOMATIC:
        return FilterReason.AUTO_REPLY, f"An automatic message (Auto-Submitted: {submitted})."
    for name in ("X-Autoreply", "X-Autorespond"):
        if mail.header(name).strip().lower() not in _NOT_AUTOMATIC:
            return FilterReason.AUTO_REPLY, f"An automatic reply ({name})."
    if mail.header("precedence").strip().lower() == "auto_reply":
        return FilterReason.AUTO_REPLY, "An automatic reply (Precedence: auto_reply)."
    # Exchange stamps the agent that generated a message; an out-of-office reply comes from
    # its Mailbox Rules Agent and asks for no automatic answer. Auto-Submitted usually catches
    # it first; this pair is for relays that drop Auto-Submitted.
    source = mail.header("x-ms-exchange-generated-message-source").lower()
    suppress = mail.header("x-auto-response-suppress").lower()
    if "mailbox rules agent" in source and "all" in suppress:
        return FilterReason.AUTO_REPLY, "An Exchange automatic reply (Mailbox Rules Agent)."
    return None


def _bulk(mail: DeskMail, _config: FilterConfig) -> _Found:
    precedence = mail.header("precedence").strip().lower()
    if precedence in _BULK_PRECEDENCE:
        return FilterReason.BULK, f"Bulk or mailing-list mail (Precedence: {precedence})."
    return None
