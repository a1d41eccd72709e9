"""Jira issue JSON to and from the protocol's shapes: bodies (ADF or text), our markers, tickets.

Our marker on an issue: the issue property ``ticketbridge`` holds ``{"reference": ..., "udfs":
{...}}`` (the record, readable by people and apps), and one label per reference and per
user-defined value makes it searchable by JQL (properties are only searchable when an app
indexes them). Labels allow no spaces, so the value is base32-encoded: lower-case letters and
digits survive Jira's case-insensitive label matching, and the value can be read back from the
label alone when a search does not return properties.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from ticketbridge.connectors.errors import RemoteRejected
from ticketbridge.connectors.psa.base import RemoteTicket
from ticketbridge.connectors.psa.jira.changelog import last_change
from ticketbridge.connectors.psa.values import opt_int, utc_datetime

PROPERTY = "ticketbridge"
REFERENCE_LABEL = "tbref-"
UDF_LABEL = "tbudf-"
_UDF_SEPARATOR = "\x1f"
LABEL_LIMIT = 255
SUMMARY_LIMIT = 255
# Fields every ticket read asks for.
TICKET_FIELDS = (
    "summary",
    "status",
    "project",
    "labels",
    "updated",
    "resolutiondate",
    "statuscategorychangedate",
    # Its total spares resolve a request of its own for the time-entry count.
    "worklog",
    # Read back for the sync (issue 14).
    "description",
    "priority",
    # Its emailAddress, where Jira shows it (a user's profile visibility may hide it).
    "reporter",
)


def adf(text: str) -> dict[str, Any]:
    """Plain text as an Atlassian Document: blank lines part paragraphs, newlines break lines."""
    paragraphs = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        if not block.strip():
            continue
        content: list[dict[str, Any]] = []
        for n, line in enumerate(block.split("\n")):
            if n:
                content.append({"type": "hardBreak"})
            if line:
                content.append({"type": "text", "text": line})
        paragraphs.append({"type": "paragraph", "content": content})
    return {"type": "doc", "version": 1, "content": paragraphs}


def summary(title: str) -> str:
    """Jira summaries are one line of at most 255 characters."""
    return " ".join(title.split())[:SUMMARY_LIMIT] or "(no title)"


def _encode(prefix: str, value: str) -> str:
    label = prefix + base64.b32encode(value.encode()).decode().rstrip("=").lower()
    if len(label) > LABEL_LIMIT:
        raise RemoteRejected(f"The value {value[:40]!r}… is too long to mark a Jira issue with.")
    return label


def _decode(label: str, prefix: str) -> str | None:
    if not label.startswith(prefix):
        return None
    data = label[len(prefix) :].upper()
    try:
        return base64.b32decode(data + "=" * (-len(data) % 8)).decode()
    except (binascii.Error, ValueError):
        return None


def plain_label(text: str) -> str | None:
    """A tag as a Jira label: Jira refuses spaces in a label, so a run of them becomes one
    underscore; None for an empty tag or one too long to keep whole."""
    label = "_".join(text.split())
    return label if label and len(label) <= LABEL_LIMIT else None


def reference_label(reference: str) -> str:
    return _encode(REFERENCE_LABEL, reference)


def udf_label(name: str, value: str) -> str:
    return _encode(UDF_LABEL, f"{name}{_UDF_SEPARATOR}{value}")


def marker(
    reference: str | None, udfs: tuple[tuple[str, str], ...], device: int | None
) -> dict[str, Any]:
    value: dict[str, Any] = {"reference": reference, "udfs": dict(udfs)}
    if device is not None:
        value["configurationItemId"] = device
    return value


def reference_of(issue: dict[str, Any]) -> str | None:
    recorded = _marker(issue).get("reference")
    if isinstance(recorded, str) and recorded:
        return recorded
    for label in _labels(issue):
        found = _decode(label, REFERENCE_LABEL)
        if found:
            return found
    return None


def udfs_of(issue: dict[str, Any]) -> dict[str, str]:
    recorded = _marker(issue).get("udfs")
    if isinstance(recorded, dict) and recorded:
        return {str(k): str(v) for k, v in recorded.items()}
    found: dict[str, str] = {}
    for label in _labels(issue):
        pair = _decode(label, UDF_LABEL)
        if pair and _UDF_SEPARATOR in pair:
            name, value = pair.split(_UDF_SEPARATOR, 1)
            found[name] = value
    return found


def ticket(issue: dict[str, Any]) -> RemoteTicket:
    fields = issue.get("fields") or {}
    status = fields.get("status") or {}
    project = fields.get("project") or {}
    done = category_of(status) == "done"
    completed = utc_datetime(fields.get("resolutiondate"))
    if done and completed is None:
        # A workflow that sets no resolution still moved the issue into "done".
        changed = fields.get("statuscategorychangedate")
        completed = utc_datetime(changed) or utc_datetime(fields.get("updated"))
    changed_by, changed_at = last_change(issue)
    return RemoteTicket(
        id=int(issue["id"]),
        number=str(issue.get("key") or ""),
        status_id=opt_int(status.get("id")),
        status_label=str(status.get("name") or ""),
        company_id=opt_int(project.get("id")),
        title=str(fields.get("summary") or ""),
        external_id=reference_of(issue),
        last_activity=utc_datetime(fields.get("updated")),
        completed_at=completed if done else None,
        description=plain_text(fields.get("description")),
        priority_id=opt_int((fields.get("priority") or {}).get("id")),
        changed_by=changed_by,
        changed_at=changed_at,
        contact_email=(fields.get("reporter") or {}).get("emailAddress") or None,
        categories=tuple(
            label for label in _labels(issue) if not label.startswith((REFERENCE_LABEL, UDF_LABEL))
        ),
    )


def done_transition(
    transitions: Any, status_id: int, preferred: str | None
) -> dict[str, Any] | None:
    """The transition into ``status_id``, else the one named ``preferred`` into the done
    category, else the first into done; None when no transition leads to done."""
    usable = usable_transitions(transitions)
    into = [t for t in usable if str((t.get("to") or {}).get("id")) == str(status_id)]
    done = [t for t in usable if category_of(t.get("to") or {}) == "done"]
    named = [t for t in done if preferred and str(t.get("name")).casefold() == preferred.casefold()]
    for choice in (into, named, done):
        if choice:
            return choice[0]
    return None


def usable_transitions(transitions: Any) -> list[dict[str, Any]]:
    """The transitions of an issue's list that can be taken now."""
    return [
        t
        for t in transitions or []
        if isinstance(t, dict) and t.get("id") is not None and t.get("isAvailable", True)
    ]


def transition_body(chosen: dict[str, Any], resolution: str | None) -> dict[str, Any]:
    """The POST of ``chosen``, with the configured resolution where its screen asks for one."""
    body: dict[str, Any] = {"transition": {"id": str(chosen["id"])}}
    screen = chosen.get("fields")
    if resolution and isinstance(screen, dict) and "resolution" in screen:
        body["fields"] = {"resolution": {"name": resolution}}
    return body


def category_of(status: dict[str, Any]) -> str | None:
    category = status.get("statusCategory")
    key = category.get("key") if isinstance(category, dict) else None
    return str(key) if key else None


def _marker(issue: dict[str, Any]) -> dict[str, Any]:
    properties = issue.get("properties")
    found = properties.get(PROPERTY) if isinstance(properties, dict) else None
    return found if isinstance(found, dict) else {}


def _labels(issue: dict[str, Any]) -> list[str]:
    labels = (issue.get("fields") or {}).get("labels")
    return [label for label in labels or [] if isinstance(label, str)]


def plain_text(body: Any) -> str:
    """A v2 wiki-text body as is; a v3 ADF body as text (paragraphs apart by a blank line,
    hard breaks as newlines), the inverse of ``issues.adf`` for plain text."""
    if isinstance(body, str):
        return body
    if not isinstance(body, dict):
        return ""
    blocks = [_inline(node) for node in body.get("content") or [] if isinstance(node, dict)]
    return "\n\n".join(block for block in blocks if block)


def _inline(node: dict[str, Any]) -> str:
    kind = node.get("type")
    if kind == "text":
        return str(node.get("text") or "")
    if kind == "hardBreak":
        return "\n"
    children = [_inline(c) for c in node.get("content") or [] if isinstance(c, dict)]
    joiner = "\n" if kind in ("bulletList", "orderedList", "listItem", "blockquote") else ""
    return joiner.join(children)
