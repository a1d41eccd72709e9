"""Raw mail to ``MailMessage``: MIME decoding, charsets, and unwrapping forwarded mail.

Bodies are decoded from quoted-printable or base64 before anyone looks at them, with the part's
charset, falling back to UTF-8 and then cp1252 (what mislabelled Windows mail usually is). A
forwarded report is unwrapped: an attached ``message/rfc822`` part is preferred; otherwise an
inline "Forwarded message" block lends its Subject, From and Date.
"""

from __future__ import annotations

import re
from datetime import datetime
from email import policy
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime

from ticketbridge.connectors.parsers.htmltext import html_to_text
from ticketbridge.core.reports import MailAttachment, MailMessage

# compat32 parses headers lazily and cheaply; the few headers we read are decoded below.
# (The default policy's header registry cost half of all parsing time.)
_PARSER = BytesParser(policy=policy.compat32)
_PREFIX = re.compile(
    r"^\s*(?:(?:re|fw|fwd|aw|wg|tr|sv|vs|antw|doorst|rif|enc)\s*(?:\[\d+\])?\s*:\s*)+", re.I
)
_INLINE_FORWARD = re.compile(
    r"^[ >]*(?:-{2,}\s*(?:forwarded message|original message|weitergeleitete nachricht|"
    r"ursprüngliche nachricht|doorgestuurd bericht|oorspronkelijk bericht|message transféré|"
    r"message d'origine)\s*-{2,}|begin forwarded message:)\s*$",
    re.I | re.M,
)
_INLINE_HEADER = re.compile(
    r"^[ >]*(from|von|van|de|date|datum|sent|gesendet|verzonden|envoyé|subject|betreff|"
    r"onderwerp|objet|to|an|aan|à|cc)\s*:\s*(.*)$",
    re.I,
)
_SUBJECT_KEYS = {"subject", "betreff", "onderwerp", "objet"}
_FROM_KEYS = {"from", "von", "van", "de"}
_DATE_KEYS = {"date", "datum", "sent", "gesendet", "verzonden", "envoyé"}
_MAX_DEPTH = 3
_MAX_ATTACHMENT_CHARS = 2_000_000


def parse_bytes(raw: bytes) -> Message:
    return _PARSER.parsebytes(raw)


def strip_prefixes(subject: str) -> str:
    """'Fwd: RE: [Success] Job' -> '[Success] Job'; whitespace collapsed."""
    return _PREFIX.sub("", " ".join(subject.split()))


def header_text(message: Message, name: str) -> str:
    """A header decoded to text (RFC 2047 words, raw 8-bit bytes); never raises."""
    try:
        value = message.get(name)
    except Exception:  # a header object that cannot be read is treated as absent
        return ""
    return "" if value is None else decode_header_value(value)


def decode_header_value(value: object) -> str:
    raw = str(value)
    try:
        text = str(make_header(decode_header(raw)))
    except (LookupError, UnicodeError, ValueError, TypeError):
        text = _decode_words_leniently(raw)
    # Undeclared 8-bit header bytes arrive as surrogates; most senders meant UTF-8.
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return " ".join(text.split())


def _decode_words_leniently(raw: str) -> str:
    try:
        parts = decode_header(raw)
    except (LookupError, UnicodeError, ValueError, TypeError):
        return raw
    out = []
    for chunk, charset in parts:
        if isinstance(chunk, str):
            out.append(chunk)
            continue
        try:
            out.append(chunk.decode(charset or "utf-8"))
        except (LookupError, UnicodeDecodeError):
            out.append(chunk.decode("utf-8", "replace"))
    return " ".join(out)


def mail_date(message: Message) -> datetime | None:
    raw = header_text(message, "date")
    return _parse_date_header(raw)


def _parse_date_header(raw: str) -> datetime | None:
    if not raw:
        return None
    try:
        parsed = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo is not None else None


def decode_part(part: Message) -> str:
    """A leaf part's body as text, whatever its transfer encoding and charset claim."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = (part.get_content_charset() or "utf-8").strip().lower()
    for candidate in (charset, "utf-8"):
        try:
            return _unix_newlines(payload.decode(candidate))
        except (LookupError, UnicodeDecodeError):
            continue
    return _unix_newlines(payload.decode("cp1252", errors="replace"))


def _unix_newlines(text: str) -> str:
    # Parsers match line by line; CRLF from the wire would leave '\r' in every value.
    return text.replace("\r\n", "\n").replace("\r", "\n")


def to_mail_message(message: Message, depth: int = 0) -> MailMessage:
    """The parsers' view of ``message``, unwrapping a forwarded report when there is one."""
    text, html, attachments, inner = _walk(message)
    if inner is not None and depth < _MAX_DEPTH:
        unwrapped = to_mail_message(inner, depth + 1)
        return _replace_forwarded(unwrapped, fallback_date=mail_date(message))
    if not text and html:
        text = html_to_text(html)
    raw_subject = header_text(message, "subject")
    sender_name, sender = _sender(message)
    date = mail_date(message)
    mail = MailMessage(
        subject=strip_prefixes(raw_subject),
        raw_subject=raw_subject,
        sender=sender,
        sender_name=sender_name,
        date=date,
        text=text,
        html=html,
        headers=_headers_of(message),
        attachments=tuple(attachments),
    )
    if raw_subject != mail.subject or _INLINE_FORWARD.search(text):
        return _unwrap_inline(mail)
    return mail


def _replace_forwarded(mail: MailMessage, fallback_date: datetime | None) -> MailMessage:
    return MailMessage(
        subject=mail.subject,
        raw_subject=mail.raw_subject,
        sender=mail.sender,
        sender_name=mail.sender_name,
        date=mail.date or fallback_date,
        text=mail.text,
        html=mail.html,
        headers=mail.headers,
        attachments=mail.attachments,
        forwarded=True,
    )


def _headers_of(message: Message) -> tuple[tuple[str, str], ...]:
    try:
        return tuple((k, _safe_str(v)) for k, v in message.items())
    except Exception:  # lazily parsed header values can fail; the headers are a nicety
        return ()


def _safe_str(value: object) -> str:
    # Headers are kept as received (undecoded) for display and rules; parsers use the fields.
    text = str(value).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return " ".join(text.split())


def _sender(message: Message) -> tuple[str, str]:
    raw = header_text(message, "from")
    if not raw:
        return "", ""
    try:
        pairs = getaddresses([raw])
    except (TypeError, ValueError, IndexError):
        return "", raw.lower()
    name, address = pairs[0] if pairs else ("", "")
    return name.strip(), address.strip().lower()


def _walk(message: Message) -> tuple[str, str, list[MailAttachment], Message | None]:
    text = html = ""
    attachments: list[MailAttachment] = []
    inner: Message | None = None
    stack: list[Message] = [message]
    while stack:
        part = stack.pop()
        content_type = part.get_content_type()
        if content_type == "message/rfc822":
            payload = part.get_payload()
            candidate = payload[0] if isinstance(payload, list) and payload else None
            if inner is None and isinstance(candidate, Message):
                inner = candidate
            continue
        if part.is_multipart():
            children = part.get_payload()
            if isinstance(children, list):
                stack.extend(reversed([c for c in children if isinstance(c, Message)]))
            continue
        if part.get_content_maintype() != "text":
            continue  # binary attachments are never opened
        is_attachment = part.get_content_disposition() == "attachment"
        body = decode_part(part)
        if is_attachment:
            attachments.append(
                MailAttachment(
                    filename=part.get_filename() or "",
                    content_type=content_type,
                    text=body[:_MAX_ATTACHMENT_CHARS],
                )
            )
        elif content_type == "text/plain" and not text:
            text = body
        elif content_type == "text/html" and not html:
            html = body
    return text, html, attachments, inner


def _unwrap_inline(mail: MailMessage) -> MailMessage:
    """Take Subject/From/Date from an inline forwarded block, and the body after it."""
    marker = _INLINE_FORWARD.search(mail.text)
    if not marker:
        return mail
    lines = mail.text[marker.end() :].lstrip("\n").split("\n")
    found: dict[str, str] = {}
    consumed = 0
    for consumed, line in enumerate(lines):  # noqa: B007 (consumed is used after the loop)
        header = _INLINE_HEADER.match(line)
        if not header:
            if line.strip() or found:
                break
            continue
        found.setdefault(header.group(1).lower(), header.group(2).strip())
    else:
        consumed = len(lines)
    subject = next((v for k, v in found.items() if k in _SUBJECT_KEYS), "")
    sender_raw = next((v for k, v in found.items() if k in _FROM_KEYS), "")
    date_raw = next((v for k, v in found.items() if k in _DATE_KEYS), "")
    sender = getaddresses([sender_raw])[0] if sender_raw else ("", "")
    body = "\n".join(
        line.lstrip("> ") if line.startswith(">") else line for line in lines[consumed:]
    )
    return MailMessage(
        subject=strip_prefixes(subject) if subject else mail.subject,
        raw_subject=mail.raw_subject,
        sender=sender[1].lower() or mail.sender,
        sender_name=sender[0] or mail.sender_name,
        date=_parse_date_header(date_raw) or mail.date,
        text=body.strip(),
        html=mail.html,
        headers=mail.headers,
        attachments=mail.attachments,
        forwarded=True,
    )
