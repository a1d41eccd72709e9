"""Which mails of the last days made neither a ticket nor a comment (issue 16, item 6: the
selection behind `ticketbridge mailbox check-missing`). Pure; no I/O.

A mail the filters stopped is not missing: it has its reason. A mail held by loop protection is
not missing either: it waits for an operator. A mail without a Message-ID cannot be matched to
what it made, so it is listed (with an empty id) for an operator to look at.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from ticketbridge.core.service_desk.mail import normalise_message_id


@dataclass(frozen=True)
class SeenMail:
    message_id: str
    received_at: datetime
    filtered_reason: str | None = None  # any reason (filtered or held) means: not missing


def missing_mails(
    mails: Iterable[SeenMail], handled_message_ids: Iterable[str], *, days: int, now: datetime
) -> list[SeenMail]:
    """The mails received within ``days`` before ``now`` that were neither filtered nor
    handled, oldest first, each Message-ID once (a mail delivered twice is one mail)."""
    since = now - timedelta(days=days)
    handled = {normalise_message_id(value) for value in handled_message_ids}
    handled.discard("")
    listed: set[str] = set()
    found: list[SeenMail] = []
    for mail in sorted(mails, key=lambda seen: seen.received_at):
        key = normalise_message_id(mail.message_id)
        if mail.received_at < since or mail.filtered_reason or key in handled:
            continue
        if key and key in listed:
            continue
        listed.add(key)
        found.append(mail)
    return found
