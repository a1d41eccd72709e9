"""Turning report text into short plain text fit for a ticket (design §5A.6: no raw dumps).

Autotask shows a ticket description as plain text: HTML arrives there literally, so markup is
stripped here, stack traces are dropped and every piece is capped before it is composed.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

ELLIPSIS = "…"

_HTML_HINT = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*(\s[^<>]*)?/?>|&(#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);")
_BLOCK_TAGS = frozenset(
    {"br", "p", "div", "li", "tr", "table", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "pre"}
)
_INVISIBLE_TAGS = frozenset({"script", "style", "head", "title"})
# Lines that begin a stack trace in .NET, Java, Python or PowerShell output. Everything from the
# first such line on is a dump: the ticket owner finds it in ticketbridge, not in the ticket.
_TRACE_START = re.compile(
    r"^\s*(at\s+[\w$.<>`]+[.(]|Traceback \(most recent call last\)|File \".+\", line \d+"
    r"|---\s*End of (inner exception )?stack trace|\+\s*CategoryInfo\s*:|Stack ?trace:)",
    re.IGNORECASE,
)
_SPACES = re.compile(r"[ \t\f\v\u00a0]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _INVISIBLE_TAGS:
            self._hidden_depth += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")
        elif tag in ("td", "th"):
            self.parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _INVISIBLE_TAGS:
            self._hidden_depth = max(0, self._hidden_depth - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden_depth:
            self.parts.append(data)


def strip_html(text: str) -> str:
    """Text content of an HTML fragment; text that does not look like HTML is returned as is.

    The check keeps a plain message such as "free space < 10%" intact instead of letting the
    parser read "< 10%" as the start of a tag.
    """
    if not _HTML_HINT.search(text):
        return text
    parser = _TextExtractor()
    parser.feed(text)
    parser.close()
    return "".join(parser.parts)


def drop_stack_trace(text: str) -> str:
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if _TRACE_START.match(line):
            return "\n".join(lines[:index])
    return text


def tidy_lines(text: str) -> str:
    """Collapse runs of spaces, trim each line and allow at most one blank line in a row."""
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    kept: list[str] = []
    for line in lines:
        if not line and (not kept or not kept[-1]):
            continue
        kept.append(line)
    while kept and not kept[-1]:
        kept.pop()
    return "\n".join(kept)


def one_line(text: str) -> str:
    return " ".join(_CONTROL.sub("", text).split())


def cap(text: str, limit: int) -> str:
    """At most `limit` characters; a cut is shown with an ellipsis and lands on a word boundary
    when one is near, so that a message never ends in half a word."""
    if limit <= 0:
        return ""
    if len(text) <= limit:
        return text
    if limit == 1:
        return ELLIPSIS
    head = text[: limit - 1]
    space = head.rfind(" ")
    if space >= (limit * 3) // 4:
        head = head[:space]
    return head.rstrip() + ELLIPSIS


def clean_message(text: str | None, limit: int) -> str:
    """An object message as one capped line: markup and stack traces removed."""
    if not text:
        return ""
    return cap(one_line(drop_stack_trace(strip_html(text))), limit)


def clean_block(text: str | None, limit: int) -> str:
    """A remark: markup and stack traces removed, line breaks kept, capped."""
    if not text:
        return ""
    return cap(tidy_lines(drop_stack_trace(strip_html(text))), limit)
