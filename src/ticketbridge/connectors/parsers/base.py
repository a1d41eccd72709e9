"""The shape every report parser module has, and small helpers they share."""

from __future__ import annotations

import re
from typing import Protocol

from ticketbridge.core.reports import MailMessage, ParsedReport


class ReportParser(Protocol):
    """A parser module: ``NAME`` (its fixture folder and docs section), ``matches``, ``parse``.

    ``matches`` is cheap (headers, subject, sender, a substring test at most). ``parse`` is pure
    and returns an empty list when a closer look shows the mail is not its product after all;
    the registry then tries the next parser.
    """

    NAME: str

    def matches(self, msg: MailMessage) -> bool: ...

    def parse(self, msg: MailMessage) -> list[ParsedReport]: ...


def field(text: str, label: str, *, flags: int = re.I | re.M) -> str:
    """The value after 'label:' on its line ('' when absent). ``label`` is a regex fragment."""
    found = re.search(rf"^[ \t]*(?:{label})[ \t]*:[ \t]*(.*?)[ \t]*$", text, flags)
    return found.group(1) if found else ""


def first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


def shorten(text: str, limit: int = 2000) -> str:
    """Remarks stay readable in a ticket: whitespace collapsed and a length cap."""
    collapsed = " ".join(text.split())
    return collapsed if len(collapsed) <= limit else collapsed[: limit - 1] + "…"
