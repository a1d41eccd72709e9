"""Bodies: wiki/plain text on v2, Atlassian Document Format (ADF) on v3, and dates.

Each stored body keeps both forms, so an issue written on one version reads on the other:
plain text becomes one ADF paragraph per line, and ADF reads back as its text nodes joined
by paragraph. Rich marks are kept in the ADF and dropped in the text form.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Any

from .errors import JiraError


def text_to_adf(text: str) -> dict[str, Any]:
    content = [
        {"type": "paragraph", "content": [{"type": "text", "text": line}]}
        if line
        else {"type": "paragraph", "content": []}
        for line in text.split("\n")
    ]
    return {"type": "doc", "version": 1, "content": content}


def adf_to_text(node: Any) -> str:
    if not isinstance(node, dict):
        return ""
    if node.get("type") == "text":
        return str(node.get("text", ""))
    if node.get("type") == "hardBreak":
        return "\n"
    parts = [adf_to_text(child) for child in node.get("content") or []]
    joiner = "\n" if node.get("type") in {"doc", "bulletList", "orderedList", "listItem"} else ""
    return joiner.join(parts)


def is_adf(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and value.get("type") == "doc"
        and value.get("version") == 1
        and isinstance(value.get("content"), list)
    )


def read_body(value: Any, version: str, field: str, *, comment: bool = False) -> dict[str, Any]:
    """A body as written on ``version``: ``{"text", "adf"}``, or Jira's 400."""
    if version == "3":
        if not is_adf(value):
            if comment:
                raise JiraError(400, [], {"comment": "Comment body is not valid!"})
            raise JiraError(
                400,
                [],
                {
                    field: "Operation value must be an Atlassian Document "
                    "(see the Atlassian Document Format)"
                },
            )
        return {"text": adf_to_text(value), "adf": value}
    if not isinstance(value, str):
        raise JiraError(400, [], {field: "Operation value must be a string"})
    return {"text": value, "adf": text_to_adf(value)}


def show_body(body: dict[str, Any] | None, version: str) -> Any:
    if body is None:
        return None
    return body["adf"] if version == "3" else body["text"]


def render_html(body: dict[str, Any] | None) -> str | None:
    if body is None:
        return None
    return "".join(f"<p>{html.escape(line)}</p>" for line in body["text"].split("\n"))


def jira_time(ts: float) -> str:
    """Jira's timestamp format: ``2026-03-02T14:30:00.000+0000``."""
    moment = datetime.fromtimestamp(ts, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def parse_jira_time(text: str) -> float:
    for pattern in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return datetime.strptime(text, pattern).timestamp()
        except ValueError:
            continue
    raise ValueError(text)


def duration_text(seconds: int) -> str:
    """Jira's ``timeSpent``: 1w 2d 3h 4m on a 5-day, 8-hour working week."""
    parts = []
    minutes = seconds // 60
    for unit, size in (("w", 5 * 8 * 60), ("d", 8 * 60), ("h", 60), ("m", 1)):
        if minutes >= size:
            parts.append(f"{minutes // size}{unit}")
            minutes %= size
    return " ".join(parts) or "0m"


def parse_duration(text: str) -> int | None:
    """Seconds in ``"2h 30m"``/``"1d"``; None when unreadable."""
    sizes = {"w": 5 * 8 * 3600, "d": 8 * 3600, "h": 3600, "m": 60}
    total = 0
    for part in text.split():
        unit, number = part[-1:].lower(), part[:-1]
        if unit not in sizes or not number.replace(".", "", 1).isdigit():
            return None
        total += int(float(number) * sizes[unit])
    return total or None
