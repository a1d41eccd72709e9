"""ATES credentials out of a whole mail, before it is stored (docs/alerts.md, "Redaction").

A token may sit in any text part of a mail, plain or HTML, and that part may be
quoted-printable or base64 encoded, so the raw bytes are not searched as such: each text part is
decoded, redacted with :func:`ticketbridge.core.ates_tokens.redact`, and encoded again the way
it was. The header section and every other part are written back as they came (the stdlib's
compat32 generator, no refolding). A mail in which no token carries credentials is returned as
the very same bytes, without being parsed when a cheap look finds no trace of a token at all.
Pure; no I/O.
"""

from __future__ import annotations

import base64
import binascii
import quopri
import re
from email import policy
from email.generator import BytesGenerator
from email.message import Message
from email.parser import BytesParser
from io import BytesIO

from ticketbridge.core import ates_tokens

_PARSER = BytesParser(policy=policy.compat32)
_TAGS = re.compile(rb"<[^<>]{0,500}>|&[#a-z0-9]{1,32};|=\r?\n")
# Encodings under which a token cannot be seen in the raw bytes.
_ENCODED = (b"base64", b"quoted-printable")


def might_carry_token(raw: bytes) -> bool:
    """False only when no part of ``raw`` can hold a token: no 'autotask' in the bytes, with
    markup, entities and soft line breaks taken out, and no encoded part to hide one."""
    lowered = raw.lower()
    if b"autotask" in lowered or any(name in lowered for name in _ENCODED):
        return True
    return b"autotask" in _TAGS.sub(b"", lowered)


def redact_mail(raw: bytes) -> bytes:
    """``raw`` with every ATES token's ID and PW values replaced by ``[redacted]``.
    Unchanged (the same bytes) when no token carries credentials; never raises."""
    if not might_carry_token(raw):
        return raw
    try:
        message = _PARSER.parsebytes(raw)
        if not message.keys():  # no header section: nothing for the generator to keep
            return _redact_bytes(raw)
        changed = False
        for part in message.walk():
            changed |= _redact_part(part)
        if changed:
            out = BytesIO()
            linesep = "\r\n" if b"\r\n" in raw[:4096] else "\n"
            generator = BytesGenerator(out, mangle_from_=False, maxheaderlen=0)
            generator.flatten(message, linesep=linesep)
            raw = out.getvalue()
    except Exception:  # a mail the stdlib cannot walk or write: redact its bytes as text
        return _redact_bytes(raw)
    # A token in the header section (a subject, say) is redacted in place.
    end = _header_end(raw)
    header = _redact_bytes(raw[:end])
    return raw if header == raw[:end] else header + raw[end:]


def _header_end(raw: bytes) -> int:
    for separator in (b"\r\n\r\n", b"\n\n"):
        found = raw.find(separator)
        if found >= 0:
            return found + len(separator)
    return len(raw)


def _redact_bytes(data: bytes) -> bytes:
    # UTF-8 with surrogate escapes gives back exactly the bytes it was given, valid or not.
    text = data.decode("utf-8", errors="surrogateescape")
    redacted = ates_tokens.redact(text)
    return data if redacted == text else redacted.encode("utf-8", errors="surrogateescape")


def _redact_part(part: Message) -> bool:
    if part.is_multipart() or part.get_content_maintype() != "text":
        return False
    encoding = str(part.get("content-transfer-encoding", "")).strip().lower()
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes) or not might_carry_token(payload):
        return False
    charset = _charset(part)
    text = payload.decode(charset, errors="surrogateescape")
    redacted = ates_tokens.redact(text)
    if redacted == text:
        return False
    data = redacted.encode(charset, errors="surrogateescape")
    if encoding == "base64":
        part.set_payload(base64.encodebytes(data).decode("ascii"))
    elif encoding == "quoted-printable":
        part.set_payload(quopri.encodestring(data).decode("ascii"))
    else:  # 7bit, 8bit, binary or none: compat32 keeps such payloads as surrogate-escaped str
        part.set_payload(data.decode("ascii", errors="surrogateescape"))
    return True


def _charset(part: Message) -> str:
    name = part.get_content_charset() or "us-ascii"
    try:
        "".encode(name)
        b"".decode(name)
    except (LookupError, binascii.Error, ValueError):
        return "latin-1"
    return "utf-8" if name in ("us-ascii", "ascii") else name
