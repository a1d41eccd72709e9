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
# Transfer encodings the stdlib decodes (x-uuencode, uue and the like share "uue"): a token in
# such a part cannot be seen in the raw bytes.
_ENCODED = (b"base64", b"quoted-printable", b"uue")
# Charsets in which every letter a reader sees is its own ASCII byte: anything else (UTF-16,
# UTF-7, ...) may spell "autotask" in other bytes. Lower-cased, as found after "charset=".
_ASCII_SAFE = frozenset(
    (
        *(b"", b"us-ascii", b"ascii", b"utf-8", b"utf8", b"iso-8859-1", b"iso-8859-15"),
        *(b"latin1", b"latin-1", b"windows-1252", b"cp1252"),
    )
)
# An RFC 2231 value (charset*=us-ascii'en'utf-16) is taken whole, so it is never "safe".
_CHARSET = re.compile(rb"charset\s*(?:\*[0-9]*\*?)?\s*=\s*\"?([^\s\";()]*)")
# Characters Unicode's case folding turns into letters of "autotask" (the long s and the Kelvin
# sign, in UTF-8), and numeric character references to an ASCII letter: the tokenizer reads
# them as those letters.
_FOLDING = (b"\xc5\xbf", b"\xe2\x84\xaa")
_LETTER_REFERENCE = re.compile(
    rb"&#(?:x0*(?:4[1-9a-f]|5[0-9a]|6[1-9a-f]|7[0-9a])(?![0-9a-f])|0*(?:6[5-9]|[7-9][0-9]|1[01][0-9]|12[0-2])(?![0-9]))"
)
# What a reader may drop between two letters of "autotask": markup, comments, character
# references, quoted-printable soft line breaks and the invisible characters the tokenizer
# removes (soft hyphen, zero-width characters; UTF-8 and Latin-1).
_GAP = (
    rb"(?:<!--.*?(?:-->|$)|<[a-z/!?](?:[^<>\"']|\"[^\"]*\"|'[^']*')*>|&[#a-z0-9]{0,32};?"
    rb"|=\r?\n|\xad|\xc2\xad|\xe2\x80[\x8b-\x8d]|\xe2\x81\xa0|\xef\xbb\xbf)*"
)
_SPELLED = re.compile(_GAP.join(bytes([c]) for c in b"autotask"), re.S)


def might_carry_token(raw: bytes) -> bool:
    """False only when no reader of ``raw`` can find a token in it: every letter it decodes is
    its own ASCII byte (no base64, quoted-printable or uuencoded part, no charset outside the
    ASCII-safe few, no character reference to a letter, no character that case-folds to one),
    and "autotask" is not spelt in the bytes, whatever markup, references, soft line breaks or
    invisible characters lie between its letters. Cheap: a few scans of the bytes."""
    lowered = raw.lower()
    if b"autotask" in lowered or any(name in lowered for name in _ENCODED):
        return True
    if b"charset" in lowered and any(
        value.strip(b"'") not in _ASCII_SAFE for value in _CHARSET.findall(lowered)
    ):
        return True
    if b"&#" in lowered and _LETTER_REFERENCE.search(lowered):
        return True
    if any(sequence in lowered for sequence in _FOLDING):
        return True
    return _SPELLED.search(lowered) is not None


def parse(raw: bytes) -> Message:
    """``raw`` parsed as the mail parsers parse it (compat32: headers read lazily, no refolding)."""
    return _PARSER.parsebytes(raw)


def redact_mail(raw: bytes) -> bytes:
    """``raw`` with every ATES token's ID and PW values replaced by ``[redacted]``.
    Unchanged (the same bytes) when no token carries credentials; never raises."""
    return redact_parsed(raw, None)[0]


def redact_parsed(raw: bytes, message: Message | None) -> tuple[bytes, Message | None]:
    """:func:`redact_mail`, for a caller that parses the mail anyway: ``message`` is ``raw``
    parsed by :func:`parse` (None: parsed here when needed). Returns the bytes to keep and their
    parse when it is still good (the bytes unchanged), else None: a rewritten mail must be
    parsed again from the bytes returned."""
    if not might_carry_token(raw):
        return raw, message
    try:
        if message is None:
            message = parse(raw)
        if not message.keys():  # no header section: nothing for the generator to keep
            redacted = _redact_bytes(raw)
            return redacted, (message if redacted is raw else None)
        changed = False
        for part in message.walk():
            changed |= _redact_part(part)
        kept = raw
        if changed:
            out = BytesIO()
            linesep = "\r\n" if b"\r\n" in raw[:4096] else "\n"
            generator = BytesGenerator(out, mangle_from_=False, maxheaderlen=0)
            generator.flatten(message, linesep=linesep)
            kept, message = out.getvalue(), None
    except Exception:  # a mail the stdlib cannot walk or write: redact its bytes as text
        return _redact_bytes(raw), None
    # A token in the header section (a subject, say) is redacted in place.
    end = _header_end(kept)
    header = _redact_bytes(kept[:end])
    if header == kept[:end]:
        return kept, message
    return header + kept[end:], None


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
    if not isinstance(payload, bytes):
        return False
    charset = _charset(part)
    text = payload.decode(charset, errors="surrogateescape")
    # Looked at as UTF-8 whatever the part's charset (UTF-16 hides its letters from a byte scan).
    if not might_carry_token(text.encode("utf-8", errors="surrogateescape")):
        return False
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
