"""ATES tokens: the XML-like block RMM tools append to alert mails for Autotask's Add Ticket
Email Service, found anywhere in a mail body, read, and stripped of its credentials.

A token looks like this (the vendor's own sample, docs/alerts.md)::

    <Autotask>
    <ID name="acmemsp.com"/>
    <PW name="zzZ3zZ/2Z1ZzzZZZ0zoZ9z=="/>
    <CustomerID source="XYZ Monitoring Application" name="100"/>
    <DeviceID source="XYZ Monitoring Application" name="123"/>
    <AlertID source="XYZ Monitoring Application" name="8932"/>
    </Autotask>

``ID`` and ``PW`` are credentials for Autotask's mail service: :func:`redact` replaces their
values (never anything else), and nothing here returns or logs them.

It is read with a tolerant tokenizer, not an XML parser: tokens are embedded in mail bodies
that are not XML, often HTML-escaped (``&lt;Autotask&gt;``), broken up by HTML formatting
(``&lt;Customer<span>ID</span> ...``), and quoted with the typographic quotes of the vendor's
own sample (``source=”XYZ”``). The text is first normalised (markup that is not an ATES element
dropped, entities decoded, invisible characters removed) while remembering where every
normalised character came from, so that a credential's value can be replaced in the original
text whatever form it had there. A value is the element's text (``<AlertID>8932</AlertID>``)
or, without text, its ``name`` attribute (the vendor's form). Pure; no I/O.
"""

from __future__ import annotations

import html
import re
from bisect import bisect_right
from dataclasses import dataclass, replace

REDACTED = "[redacted]"
# How much of a text is searched, how far a token may reach, and how long a value may be.
MAX_TEXT_CHARS = 5_000_000
MAX_TOKEN_CHARS = 16_384
MAX_VALUE_CHARS = 255
MAX_TOKENS = 20

_FIELDS = ("customerid", "deviceid", "alertid", "ticketid")
_CREDENTIALS = ("id", "pw")
_ELEMENTS = frozenset(("autotask", *_FIELDS, *_CREDENTIALS))
# Formatting between words (dropped without a trace) and between blocks (a space).
_INLINE = frozenset(
    {
        *("a", "abbr", "b", "bdi", "bdo", "big", "cite", "code", "del", "dfn", "em", "font"),
        *("i", "ins", "kbd", "mark", "q", "s", "samp", "small", "span", "strike", "strong"),
        *("sub", "sup", "tt", "u", "var", "wbr", "o:p"),
    }
)
_DOUBLE = '"“”„‟″〃＂'
_SINGLE = "'‘’‚‛′"
_QUOTES = _DOUBLE + _SINGLE

_MARKUP = re.compile(
    r"<!--.*?(?:-->|$)"  # a comment (to the end when unclosed)
    r"|<\s*/?\s*([A-Za-z][\w:.-]{0,40})(?:[^<>\"']|\"[^\"]{0,2000}\"|'[^']{0,2000}')*>"
    r"|&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});"
    r"|[\u00ad\u200b-\u200d\u2060\ufeff]"  # soft hyphen, zero-width characters
    r"|[\u00a0\u2007\u202f]",  # non-breaking spaces
    re.S,
)
_OPEN = re.compile(r"<\s*autotask\b[^<>]{0,200}>", re.I)
_CLOSE = re.compile(r"<\s*/\s*autotask\s*>", re.I)
_ANY_ATES_TAG = re.compile(
    r"<\s*/?\s*(?:autotask|customerid|deviceid|alertid|ticketid|id|pw)\b", re.I
)
_ATTRS = (
    rf"(?:[^<>{_QUOTES}]|[{_DOUBLE}][^{_DOUBLE}]{{0,1000}}[{_DOUBLE}]"
    rf"|[{_SINGLE}][^{_SINGLE}]{{0,1000}}[{_SINGLE}])*?"
)
_ELEMENT = re.compile(
    rf"<\s*(customerid|deviceid|alertid|ticketid|id|pw)\b(?P<attrs>{_ATTRS})(?P<empty>/?)\s*>",
    re.I,
)
_ATTR = re.compile(
    rf"([A-Za-z_][\w.-]*)\s*=\s*(?:[{_DOUBLE}]([^{_DOUBLE}]*)[{_DOUBLE}]"
    rf"|[{_SINGLE}]([^{_SINGLE}]*)[{_SINGLE}]|([^\s{_QUOTES}/>]+))"
)
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class AtesToken:
    """One token as found. Credentials are never kept: only whether there were any, and where
    their values are in the text searched (``credential_spans``, for :func:`redact`)."""

    source: str  # the partner application ("XYZ Monitoring Application"), "" when none said
    customer_id: str | None = None
    customer_name: str | None = None  # the name attribute when the text holds the id
    device_id: str | None = None
    alert_id: str | None = None
    ticket_id: str | None = None
    has_credentials: bool = False
    start: int = 0
    end: int = 0
    credential_spans: tuple[tuple[int, int], ...] = ()

    @property
    def dedup_id(self) -> tuple[str, str] | None:
        """What repeats of this alert share (seed: the Alert ID, else the Ticket ID)."""
        if self.alert_id:
            return ("alert", self.alert_id)
        if self.ticket_id:
            return ("ticket", self.ticket_id)
        return None

    def facts(self) -> dict[str, str | None]:
        """What may be shown, stored and logged: everything but the credentials."""
        return {
            "source": self.source,
            "customer_id": self.customer_id,
            "customer_name": self.customer_name,
            "device_id": self.device_id,
            "alert_id": self.alert_id,
            "ticket_id": self.ticket_id,
        }


@dataclass(frozen=True)
class _Segment:
    norm: int  # where it starts in the normalised text
    orig: int  # where it starts in the original
    orig_end: int
    copied: bool  # a 1:1 run (else a replacement of orig..orig_end)


class _Normalised:
    """The normalised text and the way back to the original."""

    def __init__(self, text: str) -> None:
        parts: list[str] = []
        self.segments: list[_Segment] = []
        norm = 0
        last = 0
        for match in _MARKUP.finditer(text):
            if match.start() > last:
                self.segments.append(_Segment(norm, last, match.start(), True))
                parts.append(text[last : match.start()])
                norm += match.start() - last
            piece = _replacement(match)
            if piece is None:  # an ATES element's own tag: kept, read character by character
                piece = match.group()
                self.segments.append(_Segment(norm, match.start(), match.end(), True))
            else:
                self.segments.append(_Segment(norm, match.start(), match.end(), False))
            parts.append(piece)
            norm += len(piece)
            last = match.end()
        if last < len(text):
            self.segments.append(_Segment(norm, last, len(text), True))
            parts.append(text[last:])
        self.text = "".join(parts)
        self._starts = [s.norm for s in self.segments]

    def original(self, start: int, end: int) -> tuple[int, int]:
        """The original span of the normalised characters start..end (end > start)."""
        return self._at(start, first=True), self._at(end - 1, first=False)

    def _at(self, index: int, *, first: bool) -> int:
        segment = self.segments[bisect_right(self._starts, index) - 1]
        if segment.copied:
            offset = segment.orig + (index - segment.norm)
            return offset if first else offset + 1
        return segment.orig if first else segment.orig_end


def _replacement(match: re.Match[str]) -> str | None:
    found = match.group()
    if found.startswith("<"):
        name = (match.group(1) or "").lower()
        if name in _ELEMENTS and not found.startswith("<!--"):
            # An ATES element written as markup: an ATES tag re-read inside it (not a drop).
            return None
        if name.startswith("!") or found.startswith("<!--") or name in _INLINE:
            return ""
        return " "
    if found.startswith("&"):
        decoded = html.unescape(found)
        return " " if decoded in "\u00a0\u2007\u202f" else decoded
    if found in "\u00a0\u2007\u202f":
        return " "
    return ""


def _clean(value: str) -> str:
    return _SPACES.sub(" ", value).strip()[:MAX_VALUE_CHARS]


def _attributes(text: str) -> dict[str, tuple[str, int, int]]:
    """Attribute name -> (value, start, end of the value within ``text``)."""
    found: dict[str, tuple[str, int, int]] = {}
    for match in _ATTR.finditer(text):
        for group in (2, 3, 4):
            if match.group(group) is not None:
                name = match.group(1).lower()
                found.setdefault(name, (match.group(group), match.start(group), match.end(group)))
                break
    return found


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _read(norm: _Normalised, start: int, stop: int) -> AtesToken:
    """The elements between a token's opening tag (ending at ``start``) and ``stop``."""
    text = norm.text
    values: dict[str, str] = {}
    names: dict[str, str] = {}
    sources: dict[str, str] = {}
    secret_spans: list[tuple[int, int]] = []
    credentials = False
    position = start
    while True:
        tag = _ANY_ATES_TAG.search(text, position, stop)
        if tag is None:
            break
        element = _ELEMENT.match(text, tag.start(), stop)
        if element is None:
            bare = re.match(r"<\s*(id|pw)\b", text[tag.start() : stop], re.I)
            if bare:  # a credential we cannot read: its whole tail goes, to be safe
                follow = _ANY_ATES_TAG.search(text, tag.start() + bare.end(), stop)
                tail = (tag.start() + bare.end(), follow.start() if follow else stop)
                tail = _trimmed(text, *tail)
                secret_spans.append(tail)
                credentials = credentials or text[tail[0] : tail[1]] not in ("", REDACTED)
            position = tag.end()
            continue
        kind = element.group(1).lower()
        attrs_text = element.group("attrs")
        attrs = _attributes(attrs_text)
        offset = element.start("attrs")
        span: tuple[int, int] | None = None
        value = ""
        if not element.group("empty"):
            after = _ANY_ATES_TAG.search(text, element.end(), stop)
            body_end = after.start() if after else stop
            body = _trimmed(text, element.end(), body_end)
            if body[1] > body[0]:
                span, value = body, text[body[0] : body[1]]
        if span is None and "name" in attrs:
            value, begin, finish = attrs["name"]
            begin, finish = _trimmed(attrs_text, begin, finish)
            span = (offset + begin, offset + finish)
        elif "name" in attrs and kind in _FIELDS:
            names[kind] = _clean(attrs["name"][0])
        if kind in _CREDENTIALS:
            if span is not None and span[1] > span[0]:
                if text[span[0] : span[1]] != REDACTED:
                    credentials = True
                secret_spans.append(span)
        elif kind not in values and _clean(value):
            values[kind] = _clean(value)
            if "source" in attrs and _clean(attrs["source"][0]):
                sources.setdefault(kind, _clean(attrs["source"][0]))
        position = element.end()
    source = next((sources[k] for k in _FIELDS if k in sources), "")
    return AtesToken(
        source=source,
        customer_id=values.get("customerid"),
        customer_name=names.get("customerid"),
        device_id=values.get("deviceid"),
        alert_id=values.get("alertid"),
        ticket_id=values.get("ticketid"),
        has_credentials=credentials,
        credential_spans=tuple(
            norm.original(a, b) for a, b in secret_spans if b > a and text[a:b] != REDACTED
        ),
    )


def find_tokens(text: str) -> list[AtesToken]:
    """Every token in ``text`` (plain or HTML, escaped or not), in order; at most MAX_TOKENS.
    Positions (``start``, ``end``, ``credential_spans``) refer to ``text``."""
    if not text:
        return []
    text = text[:MAX_TEXT_CHARS]
    norm = _Normalised(text)
    found: list[AtesToken] = []
    position = 0
    while len(found) < MAX_TOKENS:
        opening = _OPEN.search(norm.text, position)
        if opening is None:
            break
        limit = min(len(norm.text), opening.end() + MAX_TOKEN_CHARS)
        closing = _CLOSE.search(norm.text, opening.end(), limit)
        following = _OPEN.search(norm.text, opening.end(), limit)
        stop = closing.start() if closing else limit
        if following is not None and following.start() < stop:
            stop, end = following.start(), following.start()
        else:
            end = closing.end() if closing else limit
        token = _read(norm, opening.end(), stop)
        begin, finish = norm.original(opening.start(), max(end, opening.end()))
        found.append(replace(token, start=begin, end=finish))
        position = max(end, opening.end())
    return found


def first_token(text: str) -> AtesToken | None:
    """The first token that says anything besides credentials, else the first token."""
    tokens = find_tokens(text)
    useful = [t for t in tokens if t.customer_id or t.device_id or t.alert_id or t.ticket_id]
    chosen = useful or tokens
    return chosen[0] if chosen else None


def redact(text: str) -> str:
    """``text`` with the value of every token's ID and PW replaced by ``[redacted]``; anything
    else stays as it was. Idempotent; text without a token comes back unchanged."""
    spans = sorted({span for token in find_tokens(text) for span in token.credential_spans})
    if not spans:
        return text
    pieces: list[str] = []
    last = 0
    for start, end in spans:
        if start < last:  # overlapping spans of one value: already covered
            continue
        pieces.append(text[last:start])
        pieces.append(REDACTED)
        last = end
    pieces.append(text[last:])
    return "".join(pieces)


def mentions_token(text: str) -> bool:
    """A cheap test: could ``text`` hold a token at all? (False means certainly not.)"""
    lowered = text.lower()
    if "autotask" in lowered:
        return True
    if "auto" not in lowered or "task" not in lowered:  # not even split by markup
        return False
    return "autotask" in _MARKUP.sub("", lowered[:MAX_TEXT_CHARS])
