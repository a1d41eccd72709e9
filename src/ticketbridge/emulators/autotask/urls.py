"""Where the emulator may send webhooks and callouts: absolute http(s) URLs only.

A sandbox shipped to users must not be talked into reading ``file:///etc/passwd`` or posting to
``gopher://``: callout and webhook targets are checked when they are configured, and again
before each delivery (state files and snapshots are written by hand too).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

SCHEMES = {"http", "https"}
MAX_URL_LENGTH = 2048


def http_url_problem(value: Any) -> str | None:
    """Why ``value`` is not an absolute http or https URL, or None when it is one."""
    if not isinstance(value, str) or not value:
        return "not a URL"
    if len(value) > MAX_URL_LENGTH:
        return f"longer than {MAX_URL_LENGTH} characters"
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        return "contains spaces or control characters"
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a port out of range or not a number
    except ValueError:
        return "not a URL"
    if parts.scheme.lower() not in SCHEMES:
        return "only http and https URLs are allowed"
    if not parts.hostname:
        return "has no host"
    return None
