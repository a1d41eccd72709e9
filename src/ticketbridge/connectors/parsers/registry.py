"""The ordered parser registry and ``parse_message``, the one entry point intake calls.

Order matters: specific before generic (Veeam M365's subject also fits the B&R pattern; a
Veeam Agent report is a B&R look-alike with another footer), the keyword parser last.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import Message
from enum import StrEnum

from ticketbridge.connectors.parsers import (
    backup_exec,
    duplicati,
    generic,
    macrium_reflect,
    nakivo,
    proxmox_backup_server,
    proxmox_vzdump,
    synology_active_backup,
    synology_hyper_backup,
    veeam_agent,
    veeam_br,
    veeam_m365,
)
from ticketbridge.connectors.parsers.base import ReportParser
from ticketbridge.connectors.parsers.mime import parse_bytes, to_mail_message
from ticketbridge.core.reports import MailMessage, ParsedReport

PARSERS: tuple[ReportParser, ...] = (
    veeam_m365,
    veeam_agent,
    veeam_br,
    nakivo,
    synology_active_backup,
    synology_hyper_backup,
    proxmox_vzdump,
    proxmox_backup_server,
    duplicati,
    backup_exec,
    macrium_reflect,
    generic,
)

MAX_MESSAGE_BYTES = 25 * 1024 * 1024
MAX_LINE_BYTES = 1024 * 1024
_HEADER_NAMES = ("from", "subject", "date", "message-id", "to", "received", "content-type")


class ParseState(StrEnum):
    PARSED = "parsed"  # a parser read it: see .reports and .parser
    NO_PARSER = "no_parser"  # a well-formed mail no parser could read ("could not tell")
    FAILED = "failed"  # malformed or over a limit, or a parser broke on it: see .failure


@dataclass(frozen=True, slots=True)
class ParseOutcome:
    state: ParseState
    reports: list[ParsedReport] = field(default_factory=list)
    parser: str | None = None
    failure: str | None = None
    message: MailMessage | None = None


def parse_message(
    raw: bytes | Message,
    *,
    max_bytes: int = MAX_MESSAGE_BYTES,
    max_line_bytes: int = MAX_LINE_BYTES,
    parsed: Message | None = None,
) -> ParseOutcome:
    """Read one stored mail into reports. Never raises for odd input.

    Input: the raw RFC 5322 bytes as received (or an already parsed ``email`` message).
    Output, by ``state``:

    - ``PARSED``: ``reports`` holds one or more ``ParsedReport`` (only kind ``run`` becomes a
      run), ``parser`` is the parser's name, ``failure`` is None.
    - ``NO_PARSER``: ``reports`` is empty, ``parser`` and ``failure`` are None. The mail is
      fine but no parser recognised it; it belongs in the "could not tell" lane.
    - ``FAILED``: ``reports`` is empty and ``failure`` says why (empty, too large, a line over
      the limit, no headers, or "<parser>: <error>" when a parser broke; ``parser`` then names
      it). Store the mail and show the reason; re-parsing later may succeed.

    ``message`` is the decoded view (subject, sender, date, text) when decoding got that far.
    ``parsed``: these very bytes already parsed by the compat32 parser (mail intake parses them
    to redact), so they are checked but not parsed again.
    Parsing is pure: the same bytes always give the same outcome, so re-parsing is safe.
    """
    try:
        if isinstance(raw, Message):
            email_message = raw
        else:
            problem = _check_raw(raw, max_bytes, max_line_bytes)
            if problem:
                return ParseOutcome(ParseState.FAILED, failure=problem)
            email_message = parsed if parsed is not None else parse_bytes(raw)
        if not any(name in email_message for name in _HEADER_NAMES):
            return ParseOutcome(ParseState.FAILED, failure="no mail headers found")
        msg = to_mail_message(email_message)
    except Exception as exc:  # the stdlib's parser has corner cases; the mail must not be lost
        return ParseOutcome(ParseState.FAILED, failure=f"unreadable message: {exc!r:.200}")
    return parse_mail(msg)


def parse_mail(msg: MailMessage, parsers: tuple[ReportParser, ...] = PARSERS) -> ParseOutcome:
    """Run the parsers in order over a decoded mail (the first that returns reports wins)."""
    for parser in parsers:
        try:
            if not parser.matches(msg):
                continue
            reports = parser.parse(msg)
        except Exception as exc:  # a parser bug is reported against the mail, not raised
            return ParseOutcome(
                ParseState.FAILED,
                parser=parser.NAME,
                failure=f"{parser.NAME}: {type(exc).__name__}: {exc}"[:500],
                message=msg,
            )
        if reports:
            return ParseOutcome(ParseState.PARSED, reports=reports, parser=parser.NAME, message=msg)
    return ParseOutcome(ParseState.NO_PARSER, message=msg)


def _check_raw(raw: bytes, max_bytes: int, max_line_bytes: int) -> str | None:
    if not raw or not raw.strip():
        return "empty message"
    if len(raw) > max_bytes:
        return f"message of {len(raw)} bytes is over the {max_bytes}-byte limit"
    if len(raw) <= max_line_bytes:
        return None
    start = 0
    while start < len(raw):
        end = raw.find(b"\n", start)
        if end < 0:
            end = len(raw)
        if end - start > max_line_bytes:
            return f"a line of {end - start} bytes is over the {max_line_bytes}-byte limit"
        start = end + 1
    return None
