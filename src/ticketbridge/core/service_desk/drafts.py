"""A mail as a new ticket or a comment, in neutral terms (issue 16, items 2 and 6). Pure.

The title is the subject without reply prefixes and ticket keys, on one line, capped, with a
placeholder for an empty subject. The description is the plain body (the HTML part turned into
text when there is no plain part) with the quoted history cut off where it can be told safely,
then capped for the target (its kind's DraftLimits). The connector turns the draft into its PSA's
fields (Jira: ADF or plain text; Autotask: company, queue, source Email).

Quoted history is cut at the first of: a reply attribution line ("On <date>, <name> wrote:",
German "Am ... schrieb ...:", Dutch "Op ... schreef ...:", French "Le ... a écrit :"), an
"-----Original Message-----" line (and its German, Dutch and French forms), an Outlook header
block (From:, then Sent: or Date:, then Subject: within a few lines), and a run of "> " lines
that ends the mail. It is never cut to nothing, and a forwarded mail ("Fwd:", "WG:") keeps its
history: there the quoted mail is the request.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ticketbridge.core.plain_text import cap, one_line, strip_html, tidy_lines
from ticketbridge.core.service_desk.mail import DeskMail
from ticketbridge.core.service_desk.routing import Route
from ticketbridge.core.service_desk.subjects import (
    DEFAULT_KEY_PATTERNS,
    NO_SUBJECT,
    KeyPattern,
    is_forward,
    normalise_subject,
)

NO_BODY = "(no text)"


@dataclass(frozen=True)
class DraftLimits:
    """The longest title, description and comment text the target's tickets take (the target
    connection's kind says; connectors/psa/capabilities.DeskTarget)."""

    title: int
    description: int
    comment: int


@dataclass(frozen=True)
class MailTicketDraft:
    title: str
    description: str
    board: str
    category: str
    labels: tuple[str, ...]
    reporter: str  # the sender's address (Autotask: the contact and company are found by it)
    reporter_name: str
    watchers: tuple[str, ...]  # Cc, without the desk's own addresses and the reporter
    message_id: str


@dataclass(frozen=True)
class MailCommentDraft:
    text: str
    author: str
    author_name: str
    message_id: str


def draft_ticket(
    mail: DeskMail,
    route: Route,
    *,
    limits: DraftLimits,
    mailbox_addresses: Sequence[str] = (),
    key_patterns: Sequence[KeyPattern] = DEFAULT_KEY_PATTERNS,
) -> MailTicketDraft:
    title = one_line(normalise_subject(mail.subject, key_patterns)) or NO_SUBJECT
    text = body_text(mail)
    if not is_forward(mail.subject):
        text = trim_quoted_history(text)
    own = {address.strip().lower() for address in mailbox_addresses}
    watchers = tuple(a for a in mail.cc if a not in own and a != mail.sender)
    return MailTicketDraft(
        title=cap(title, limits.title),
        description=cap(text, limits.description) or NO_BODY,
        board=route.board,
        category=route.category,
        labels=route.labels,
        reporter=mail.sender,
        reporter_name=mail.sender_name,
        watchers=watchers,
        message_id=mail.message_id,
    )


def draft_comment(mail: DeskMail, *, limits: DraftLimits) -> MailCommentDraft:
    """A later mail of a conversation as a comment: its new text, without the quoted thread."""
    text = cap(trim_quoted_history(body_text(mail)), limits.comment) or NO_BODY
    return MailCommentDraft(text, mail.sender, mail.sender_name, mail.message_id)


def body_text(mail: DeskMail) -> str:
    """The plain body, or the HTML body as text; tidied (spaces, blank lines, line ends)."""
    text = mail.text if mail.text.strip() else strip_html(mail.html)
    return tidy_lines(text)


_ATTRIBUTION = re.compile(
    r"^(?:On\s.{1,300}\swrote|Am\s.{1,300}\sschrieb\s.{1,300}|Op\s.{1,300}\sschreef\s.{1,300}"
    r"|Le\s.{1,300}\sa\s+écrit)\s*:\s*$",
    re.IGNORECASE,
)
_ORIGINAL_MESSAGE = re.compile(
    r"^-{2,}\s*(?:original message|ursprüngliche nachricht|oorspronkelijk bericht"
    r"|message d'origine)\s*-{2,}\s*$",
    re.IGNORECASE,
)
_HEADER_FROM = re.compile(r"^\*?(?:from|von|van|de)\s*:\*?\s+\S", re.IGNORECASE)
_HEADER_SENT = re.compile(r"^\*?(?:sent|gesendet|verzonden|envoyé|date|datum)\s*:", re.IGNORECASE)
_HEADER_SUBJECT = re.compile(r"^\*?(?:subject|betreff|onderwerp|objet)\s*:", re.IGNORECASE)
_RULE = re.compile(r"^_{10,}\s*$")
# An Outlook header block: From: first, Sent:/Date: and Subject: among the next lines.
_BLOCK_LINES = 6


def trim_quoted_history(text: str) -> str:
    """``text`` without the quoted mail below the new text; unchanged when no safe cut is found
    or the cut would leave nothing."""
    lines = text.split("\n")
    cut = _history_start(lines)
    if cut is None:
        return text
    kept = "\n".join(lines[:cut]).rstrip()
    return kept if kept.strip() else text


def _history_start(lines: list[str]) -> int | None:
    for index, line in enumerate(lines):
        stripped = line.strip()
        following = lines[index + 1].strip() if index + 1 < len(lines) else ""
        if _ATTRIBUTION.match(stripped) or _ORIGINAL_MESSAGE.match(stripped):
            return index
        # Gmail folds a long attribution over two lines ("On ..., Name <a@b" / "> wrote:").
        if stripped.lower().startswith("on ") and _ATTRIBUTION.match(f"{stripped} {following}"):
            return index
        if _HEADER_FROM.match(stripped) and _outlook_block(lines, index):
            return _with_rule_above(lines, index)
    return _trailing_quote(lines)


def _outlook_block(lines: list[str], start: int) -> bool:
    window = [line.strip() for line in lines[start + 1 : start + 1 + _BLOCK_LINES]]
    sent = next((n for n, line in enumerate(window) if _HEADER_SENT.match(line)), None)
    subject = next((n for n, line in enumerate(window) if _HEADER_SUBJECT.match(line)), None)
    return sent is not None and subject is not None and sent < subject


def _with_rule_above(lines: list[str], index: int) -> int:
    """Outlook on the web draws a line of underscores above the header block: cut there."""
    above = index - 1
    while above >= 0 and not lines[above].strip():
        above -= 1
    return above if above >= 0 and _RULE.match(lines[above].strip()) else index


def _trailing_quote(lines: list[str]) -> int | None:
    end = len(lines)
    while end > 0 and not lines[end - 1].strip():
        end -= 1
    start = end
    while start > 0 and (lines[start - 1].startswith(">") or not lines[start - 1].strip()):
        start -= 1
    while start < end and not lines[start].strip():
        start += 1
    return start if start < end else None
