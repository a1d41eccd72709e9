"""Reading a stored mail the way Exchange presents it through Graph, and writing the MIME of a
mail sent with ``sendMail`` from its JSON form.

Graph facts kept here (learn.microsoft.com, message and fileAttachment resources, sendMail):

- ``internetMessageHeaders`` are the headers as received, in order, names as written.
- An attachment is a ``fileAttachment`` (``contentBytes`` in base64, ``isInline`` and
  ``contentId`` without angle brackets for images a body refers to by ``cid:``) or an
  ``itemAttachment`` (an attached mail, ``message/rfc822``).
- ``hasAttachments`` stays false when a message has inline attachments only.
- ``sendMail`` in JSON accepts custom ``internetMessageHeaders`` only when their names start with
  ``x-``; threading headers (In-Reply-To, References) come from sending MIME or from ``reply``.
"""

from __future__ import annotations

import base64
import email
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.policy import default as default_policy
from email.utils import format_datetime, formataddr, getaddresses, make_msgid
from typing import Any, Literal

Address = tuple[str, str]  # (display name, address)


class GraphInputError(ValueError):
    """A request Graph refuses with 400 and this error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Attachment:
    id: str
    name: str
    content_type: str
    content: bytes
    is_inline: bool
    content_id: str | None
    kind: Literal["file", "item"]


@dataclass(frozen=True)
class ParsedMail:
    headers: tuple[tuple[str, str], ...]
    subject: str
    sender: Address
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    bcc: tuple[Address, ...]
    reply_to: tuple[Address, ...]
    message_id: str
    in_reply_to: str
    references: tuple[str, ...]
    sent: datetime | None
    body_type: Literal["text", "html"]
    body: str
    text_body: str
    attachments: tuple[Attachment, ...]

    def header(self, name: str) -> str:
        return next((v for n, v in self.headers if n.lower() == name.lower()), "")


def _addresses(message: EmailMessage, name: str) -> tuple[Address, ...]:
    values = [str(v) for v in message.get_all(name, [])]
    return tuple((n, a) for n, a in getaddresses(values) if a)


def _text(part: EmailMessage) -> str:
    try:
        content = part.get_content()
    except (LookupError, ValueError):
        content = part.get_payload(decode=True) or b""
    return content if isinstance(content, str) else bytes(content).decode("utf-8", "replace")


def _attachment_id(index: int) -> str:
    # Real ids are opaque base64 strings scoped to the message; an index is enough here.
    return base64.urlsafe_b64encode(f"attachment:{index}".encode()).decode().rstrip("=")


def _leaves(part: EmailMessage) -> list[EmailMessage]:
    """The parts a mail is made of, an attached mail counting as one part (not its insides)."""
    if part.get_content_type() == "message/rfc822" or not part.is_multipart():
        return [part]
    return [leaf for child in part.iter_parts() for leaf in _leaves(child)]  # type: ignore[arg-type]


def _item(part: EmailMessage, index: int) -> Attachment:
    payload = part.get_payload()
    inner = payload[0] if isinstance(payload, list) and payload else None
    raw = inner.as_bytes() if isinstance(inner, EmailMessage) else b""
    subject = str(inner.get("Subject", "")) if isinstance(inner, EmailMessage) else ""
    name = part.get_filename() or subject or "Attached message"
    return Attachment(_attachment_id(index), name, "message/rfc822", raw, False, None, "item")


def _attachments(message: EmailMessage, body_parts: set[int]) -> tuple[Attachment, ...]:
    found: list[Attachment] = []
    for part in _leaves(message):
        if id(part) in body_parts:
            continue
        if part.get_content_type() == "message/rfc822":
            found.append(_item(part, len(found)))
            continue
        disposition = part.get_content_disposition()
        content_id = str(part.get("Content-ID", "")).strip().strip("<>") or None
        if disposition is None and content_id is None and part.get_content_maintype() == "text":
            continue  # an alternative body Exchange would not list as an attachment
        payload = part.get_payload(decode=True)
        found.append(
            Attachment(
                _attachment_id(len(found)),
                part.get_filename() or (content_id or "attachment"),
                part.get_content_type(),
                payload if isinstance(payload, bytes) else b"",
                disposition != "attachment",
                content_id,
                "file",
            )
        )
    return tuple(found)


def parse(raw: bytes) -> ParsedMail:
    message = email.message_from_bytes(raw, _class=EmailMessage, policy=default_policy)
    assert isinstance(message, EmailMessage)
    html = message.get_body(preferencelist=("html",))
    plain = message.get_body(preferencelist=("plain",))
    body_parts = {id(p) for p in (html, plain) if p is not None}
    text_body = _text(plain) if isinstance(plain, EmailMessage) else ""
    senders = _addresses(message, "From")
    try:
        date = message["Date"].datetime if message["Date"] is not None else None
    except (AttributeError, TypeError, ValueError):
        date = None
    return ParsedMail(
        headers=tuple((name, str(value)) for name, value in message.items()),
        subject=str(message.get("Subject", "")),
        sender=senders[0] if senders else ("", ""),
        to=_addresses(message, "To"),
        cc=_addresses(message, "Cc"),
        bcc=_addresses(message, "Bcc"),
        reply_to=_addresses(message, "Reply-To"),
        message_id=str(message.get("Message-ID", "")).strip(),
        in_reply_to=str(message.get("In-Reply-To", "")).strip(),
        references=tuple(str(message.get("References", "")).split()),
        sent=date,
        body_type="html" if isinstance(html, EmailMessage) else "text",
        body=_text(html) if isinstance(html, EmailMessage) else text_body,
        text_body=text_body,
        attachments=_attachments(message, body_parts),
    )


def _recipients(message: dict[str, Any], key: str) -> list[Address]:
    listed = message.get(key) or []
    if not isinstance(listed, list):
        raise GraphInputError("ErrorInvalidRecipients", f"{key} must be a list of recipients.")
    found: list[Address] = []
    for entry in listed:
        address = entry.get("emailAddress") if isinstance(entry, dict) else None
        if not isinstance(address, dict) or not address.get("address"):
            raise GraphInputError("ErrorInvalidRecipients", "At least one recipient is not valid.")
        found.append((str(address.get("name") or ""), str(address["address"])))
    return found


def compose(
    message: dict[str, Any], sender: Address, now: datetime, *, threading: dict[str, str]
) -> bytes:
    """The MIME Exchange would send for a ``sendMail`` (or ``reply``) message in JSON form.

    ``threading`` carries In-Reply-To and References when the emulator itself replies; a caller
    cannot set them through JSON, as in Graph."""
    to = _recipients(message, "toRecipients")
    cc = _recipients(message, "ccRecipients")
    bcc = _recipients(message, "bccRecipients")
    if not (to or cc or bcc):
        raise GraphInputError(
            "ErrorInvalidRecipients",
            "At least one recipient is not valid., A message can't be sent because it "
            "contains no recipients.",
        )
    out = EmailMessage(policy=SMTP)
    out["From"] = formataddr(sender)
    for header, people in (("To", to), ("Cc", cc), ("Bcc", bcc)):
        if people:
            out[header] = ", ".join(formataddr(p) for p in people)
    reply_to = _recipients(message, "replyTo")
    if reply_to:
        out["Reply-To"] = ", ".join(formataddr(p) for p in reply_to)
    out["Subject"] = str(message.get("subject") or "")
    out["Date"] = format_datetime(now)
    out["Message-ID"] = make_msgid(domain=sender[1].rpartition("@")[2] or "sandbox.invalid")
    for name, value in threading.items():
        out[name] = value
    for header in message.get("internetMessageHeaders") or []:
        name = str(header.get("name", "")) if isinstance(header, dict) else ""
        if not name.lower().startswith("x-"):
            raise GraphInputError(
                "InvalidInternetMessageHeader",
                f"The internet message header name '{name}' should start with 'x-' or 'X-'.",
            )
        out[name] = str(header.get("value", ""))
    body = message.get("body") if isinstance(message.get("body"), dict) else {}
    assert isinstance(body, dict)
    kind = "html" if str(body.get("contentType", "text")).lower() == "html" else "plain"
    out.set_content(str(body.get("content") or ""), subtype=kind)
    for item in message.get("attachments") or []:
        _attach(out, item)
    return out.as_bytes()


def _attach(out: EmailMessage, item: Any) -> None:
    if not isinstance(item, dict) or item.get("@odata.type") != "#microsoft.graph.fileAttachment":
        raise GraphInputError(
            "ErrorInvalidParameter", "Only #microsoft.graph.fileAttachment can be sent here."
        )
    try:
        content = base64.b64decode(str(item.get("contentBytes") or ""), validate=True)
    except ValueError:
        raise GraphInputError(
            "ErrorInvalidParameter", "contentBytes is not valid base64."
        ) from None
    maintype, _, subtype = str(item.get("contentType") or "application/octet-stream").partition("/")
    content_id = item.get("contentId")
    out.add_attachment(
        content,
        maintype=maintype,
        subtype=subtype or "octet-stream",
        filename=str(item.get("name") or "attachment"),
        disposition="inline" if item.get("isInline") else "attachment",
        cid=f"<{content_id}>" if content_id else None,
    )


def mime_from_base64(body: bytes) -> bytes:
    """The MIME of a ``sendMail`` sent as ``text/plain`` base64, as Graph accepts it."""
    try:
        raw = base64.b64decode(b"".join(body.split()), validate=True)
    except ValueError:
        raw = b""
    if not raw:
        raise GraphInputError(
            "ErrorMimeContentInvalidBase64String", "Invalid base64 string for MIME content."
        )
    return raw


def complete_mime(raw: bytes, sender: Address, now: datetime) -> bytes:
    """A sent MIME with what Exchange adds when missing: From, Date, Message-ID."""
    message = email.message_from_bytes(raw, _class=EmailMessage, policy=default_policy)
    missing = {
        "From": lambda: formataddr(sender),
        "Date": lambda: format_datetime(now),
        "Message-ID": lambda: make_msgid(domain=sender[1].rpartition("@")[2]),
    }
    added = {name: make() for name, make in missing.items() if message.get(name) is None}
    if not added:
        return raw  # kept byte for byte, as sent
    for name, value in added.items():
        message[name] = value
    return message.as_bytes(policy=SMTP)


def without_bcc(raw: bytes) -> bytes:
    """The copy a recipient gets: Bcc is for the envelope only."""
    message = email.message_from_bytes(raw, _class=EmailMessage, policy=default_policy)
    if message.get("Bcc") is None:
        return raw
    del message["Bcc"]
    return message.as_bytes(policy=SMTP)
