"""A received service-desk mail as the desk's rules read it: `DeskMail`. Pure; no I/O.

The mail layer keeps every mail's raw bytes (store first), so the desk parses those bytes
itself with the stdlib's default policy, which decodes encoded words and address lists and
picks the body part and its charset. The report parsers read mail with compat32 and unwrap
forwards; the desk must not: a forwarded mail is a request from the person who forwarded it.

Message-IDs are compared in one spelling (`normalise_message_id`): without angle brackets or
white space and with the part after the last "@" in lower case. Domains are case-insensitive;
the part before it is kept as sent, since RFC 5322 does not say it may be folded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr

_PARSER = BytesParser(policy=policy.default)
_BRACKETED = re.compile(r"<([^<>]*)>")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_MESSAGE_ID = 500
# References grows by one id per reply; the newest ids are the ones that find a ticket.
MAX_REFERENCES = 100
MAX_HEADER_CHARS = 2000
# Headers that name the address a mail was delivered to when To and Cc do not (Bcc, a
# distribution list or an alias of the mailbox).
_DELIVERY_HEADERS = ("delivered-to", "x-original-to", "envelope-to")


def normalise_message_id(value: str) -> str:
    """'<Abc.1@Mail.Example>' -> 'Abc.1@mail.example'; '' for no usable id."""
    text = value.strip()
    found = _BRACKETED.search(text)
    if found:
        text = found.group(1)
    text = "".join(text.split())
    if not text or len(text) > MAX_MESSAGE_ID:
        return ""
    local, at, domain = text.rpartition("@")
    return f"{local}@{domain.lower()}" if at else text


def message_id_list(value: str) -> tuple[str, ...]:
    """Every id of an In-Reply-To or References value, oldest first, normalised, without
    repeats; the newest `MAX_REFERENCES` when there are more. Ids some clients write without
    brackets are split on white space and commas."""
    found = _BRACKETED.findall(value)
    candidates = found if found else re.split(r"[\s,]+", value)
    ids: list[str] = []
    for candidate in candidates:
        normalised = normalise_message_id(candidate)
        if normalised and normalised not in ids:
            ids.append(normalised)
    return tuple(ids[-MAX_REFERENCES:])


def first_header(headers: tuple[tuple[str, str], ...], name: str) -> str:
    wanted = name.lower()
    return next((value for key, value in headers if key.lower() == wanted), "")


@dataclass(frozen=True)
class DeskMail:
    """What the desk's rules look at. Addresses are lower case; ``subject`` is the decoded
    subject on one line, reply prefixes included; ``return_path`` is None without the header and
    "" for the null sender ("<>"); ``headers`` are every header decoded, for the filters."""

    message_id: str
    sender: str
    sender_name: str = ""
    subject: str = ""
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    delivered_to: tuple[str, ...] = ()
    in_reply_to: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    # Graph's conversationId, when the mail was fetched through Microsoft Graph (not in MIME).
    conversation_id: str = ""
    return_path: str | None = None
    content_type: str = "text/plain"
    report_type: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    text: str = ""
    html: str = ""
    date: datetime | None = None

    def header(self, name: str) -> str:
        """The first header of that name (case-insensitive), or ''."""
        return first_header(self.headers, name)

    @property
    def recipients(self) -> tuple[str, ...]:
        """To, Cc and the delivery headers' addresses, once each, in that order."""
        seen: list[str] = []
        for address in (*self.to, *self.cc, *self.delivered_to):
            if address and address not in seen:
                seen.append(address)
        return tuple(seen)


def parse_desk_mail(raw: bytes, *, conversation_id: str = "") -> DeskMail:
    """``raw`` read as a `DeskMail`; never raises (an unreadable header reads as absent)."""
    message = _PARSER.parsebytes(raw)
    assert isinstance(message, EmailMessage)  # policy.default builds EmailMessage
    return desk_mail_of(message, conversation_id=conversation_id)


def desk_mail_of(message: EmailMessage, *, conversation_id: str = "") -> DeskMail:
    """A mail parsed with ``policy.default`` (`parse_desk_mail`) read as a `DeskMail`."""
    sender_name, sender = _first_address(message, "from")
    content_type, report_type = _content_type(message)
    return DeskMail(
        message_id=normalise_message_id(_header(message, "message-id")),
        sender=sender,
        sender_name=sender_name,
        subject=_header(message, "subject"),
        to=_addresses(message, "to"),
        cc=_addresses(message, "cc"),
        delivered_to=tuple(
            address for name in _DELIVERY_HEADERS for address in _addresses(message, name)
        ),
        in_reply_to=message_id_list(_header(message, "in-reply-to")),
        references=message_id_list(_header(message, "references")),
        conversation_id=conversation_id.strip(),
        return_path=_return_path(message),
        content_type=content_type,
        report_type=report_type,
        headers=_all_headers(message),
        text=_body(message, "plain"),
        html=_body(message, "html"),
        date=_date(message),
    )


# Each reader below treats a header or part the stdlib cannot read as absent: a malformed mail
# is still screened and, if it passes, still becomes a ticket.


def _one_line(value: object) -> str:
    return " ".join(_CONTROL.sub(" ", str(value)).split())[:MAX_HEADER_CHARS]


def _header(message: EmailMessage, name: str) -> str:
    try:
        value = message.get(name)
        return "" if value is None else _one_line(value)
    except Exception:
        return ""


def _all_headers(message: EmailMessage) -> tuple[tuple[str, str], ...]:
    names: dict[str, str] = {}  # each name once: get_all returns every header of a name
    for name in message.keys():  # noqa: SIM118 (a Message is no dict: keys() lists repeats)
        names.setdefault(name.lower(), name)
    pairs: list[tuple[str, str]] = []
    for name in names.values():
        try:
            values = message.get_all(name) or []
            pairs.extend((name, _one_line(value)) for value in values)
        except Exception:
            continue
    return tuple(pairs)


def _addresses(message: EmailMessage, name: str) -> tuple[str, ...]:
    try:
        pairs = getaddresses([str(value) for value in message.get_all(name) or []])
    except Exception:
        return ()
    found: list[str] = []
    for _display, address in pairs:
        address = address.strip().lower()
        if "@" in address and address not in found:
            found.append(address[:320])
    return tuple(found)


def _first_address(message: EmailMessage, name: str) -> tuple[str, str]:
    display, address = parseaddr(_header(message, name))
    return " ".join(display.split()), address.strip().lower()[:320]


def _content_type(message: EmailMessage) -> tuple[str, str]:
    try:
        report_type = message.get_param("report-type", "")
        return message.get_content_type(), str(report_type or "").lower()
    except Exception:
        return "text/plain", ""


def _return_path(message: EmailMessage) -> str | None:
    if "return-path" not in message:
        return None
    value = _header(message, "return-path")
    if value.replace(" ", "") in ("", "<>"):
        return ""
    return parseaddr(value)[1].strip().lower()


def _date(message: EmailMessage) -> datetime | None:
    try:
        value = getattr(message.get("date"), "datetime", None)
    except Exception:
        return None
    return value if isinstance(value, datetime) and value.tzinfo is not None else None


def _body(message: EmailMessage, subtype: str) -> str:
    try:
        part = message.get_body(preferencelist=(subtype,))
        if part is None or part.get_content_type() != f"text/{subtype}":
            return ""
    except Exception:
        return ""
    try:
        text = str(part.get_content())
    except Exception:  # an unknown charset or a broken encoding: read the bytes as UTF-8
        payload = part.get_payload(decode=True)
        text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    return text.replace("\r\n", "\n").replace("\r", "\n")
