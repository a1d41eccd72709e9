"""A draft as the fields of Jira's ``POST issue``, and the ticket that POST made when it is not
read back (``create_ticket(read_back=False)``).

Jira answers a create with the issue's id, key and address only. Everything else of the ticket
is what was sent, as a read would show it (the summary made one line, the description turned
to ADF and read as text again, our labels and reference), except what Jira decides itself: the
status the project's workflow starts in, the time, and without a draft's value its default
priority and the reporter (the connection's user). Those are left empty and named as unread.
"""

from __future__ import annotations

from typing import Any

from ticketbridge.connectors.psa.base import RemoteTicket, TicketDraft
from ticketbridge.connectors.psa.jira import issues
from ticketbridge.connectors.psa.jira.organizations import Organizations
from ticketbridge.connectors.psa.jira.projects import Projects

# Jira sets these on every create: the workflow's first status and the time.
DECIDED_BY_JIRA = frozenset({"status_id", "status_label", "last_activity", "completed_at"})


def issue_fields(
    draft: TicketDraft, companies: Projects | Organizations, issue_type: str, body: Any
) -> dict[str, Any]:
    """``companies``: where a company's issues go (a project, or a desk's organization);
    ``issue_type``: the connection's type by name when the draft names no queue; ``body``:
    text as Jira takes it (ADF or wiki text)."""
    labels = [issues.udf_label(n, v) for n, v in draft.user_defined_fields]
    if draft.external_id:
        labels.insert(0, issues.reference_label(draft.external_id))
    for tag in map(issues.plain_label, draft.labels):
        if tag is not None and tag not in labels:
            labels.append(tag)
    fields: dict[str, Any] = companies.issue_target(draft.company_id) | {
        "issuetype": (
            {"id": str(draft.queue_id)} if draft.queue_id is not None else {"name": issue_type}
        ),
        "summary": issues.summary(draft.title),
        "labels": labels,
    }
    if draft.description:
        fields["description"] = body(draft.description)
    if draft.priority_id is not None:
        fields["priority"] = {"id": str(draft.priority_id)}
    return fields


def properties(draft: TicketDraft) -> list[dict[str, Any]]:
    """Our marker as the issue property the create sets (issues.py)."""
    value = issues.marker(draft.external_id, draft.user_defined_fields, draft.configuration_item_id)
    return [{"key": issues.PROPERTY, "value": value}]


def as_made(
    answer: dict[str, Any],
    draft: TicketDraft,
    fields: dict[str, Any],
    reporter: dict[str, Any] | None,
) -> RemoteTicket:
    """The ticket from the POST's ``answer`` and the ``fields`` it sent; ``reporter``: the
    account sent as the reporter, None when Jira chose it."""
    sent = reporter if "reporter" in fields else None
    unread = set(DECIDED_BY_JIRA)
    if "priority" not in fields:
        unread.add("priority_id")
    if sent is None:
        unread.add("contact_email")
    labels = fields["labels"]
    return RemoteTicket(
        id=int(answer["id"]),
        number=str(answer.get("key") or ""),
        status_id=None,
        status_label="",
        company_id=draft.company_id,
        title=fields["summary"],
        external_id=draft.external_id or None,
        description=issues.plain_text(fields.get("description")),
        priority_id=draft.priority_id,
        contact_email=(sent or {}).get("emailAddress") or None,
        categories=tuple(
            label
            for label in labels
            if not label.startswith((issues.REFERENCE_LABEL, issues.UDF_LABEL))
        ),
        unread=frozenset(unread),
    )
