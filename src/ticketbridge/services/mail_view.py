"""What a person may see of a stored mail: its text, or its HTML made harmless.

Mail HTML is never rendered as received: nh3 keeps formatting tags only (no script, style,
forms, event handlers or images, so nothing is fetched when the page opens). Attachments are
never opened; the decoded view keeps text and HTML parts only.
"""

from __future__ import annotations

from dataclasses import dataclass

import nh3

from ticketbridge.connectors.parsers.registry import parse_message
from ticketbridge.services.mail_intake import raw_bytes
from ticketbridge.storage.models import MailMessage

# Remote images are tracking pixels or worse; image maps need them.
_TAGS = set(nh3.ALLOWED_TAGS) - {"img", "map", "area"}
MAX_SHOWN_CHARS = 500_000


@dataclass(frozen=True)
class MailContent:
    text: str
    safe_html: str
    purged: bool = False


def content(mail: MailMessage) -> MailContent:
    raw = raw_bytes(mail)
    if raw is None:
        return MailContent("", "", purged=True)
    outcome = parse_message(raw)
    decoded = outcome.message
    if decoded is None:
        # Unreadable as mail: show the bytes as text, which the template escapes.
        return MailContent(raw[:MAX_SHOWN_CHARS].decode("utf-8", "replace"), "")
    html = nh3.clean(decoded.html[:MAX_SHOWN_CHARS], tags=_TAGS) if decoded.html else ""
    return MailContent(decoded.text[:MAX_SHOWN_CHARS], html)


def eml_filename(mail: MailMessage) -> str:
    return f"mail-{mail.id}.eml"
