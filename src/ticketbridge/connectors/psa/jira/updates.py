"""An issue's summary, description, priority and status written: the Jira kind's
``ticket_updates`` capability (a ``TicketUpdates``, connectors/psa/capabilities.py).

Reference §1.7 and Atlassian's "Edit issue": ``PUT issue/{id}`` with ``fields`` sets summary,
description (ADF on REST v3, wiki text on v2) and priority (``{"id": ...}``), answering 204.
Status is no field: it moves only through a transition, so ``GET issue/{id}/transitions`` lists
those available now and the one whose target is the wanted status is taken with
``POST issue/{id}/transitions`` (with the configured resolution when its screen asks for one).
An issue already in that status needs none; no transition there is RemoteRejected, saying
from which status to which, never a silent no-op.

Requests: the edit when a field other than status changes, the transition list and the
transition when the status changes, and one read of the issue after (what the sync records
as synced). A deleted issue answers 404 (RemoteNotFound) to the first of them.
"""

from __future__ import annotations

from typing import Any

from ticketbridge.connectors.errors import RemoteNotFound, RemoteRejected
from ticketbridge.connectors.psa.base import RemoteTicket
from ticketbridge.connectors.psa.capabilities import TicketChange
from ticketbridge.connectors.psa.jira import issues
from ticketbridge.connectors.psa.jira.connector import JiraConnector


def update_ticket(connector: JiraConnector, ticket_id: int, change: TicketChange) -> RemoteTicket:
    ticket_id = int(ticket_id)
    fields: dict[str, Any] = {}
    if change.title is not None:
        fields["summary"] = issues.summary(change.title)
    if change.description is not None:
        # An empty description is cleared, not sent as an empty document Jira would refuse.
        text = change.description
        fields["description"] = (
            (issues.adf(text) if connector.config.uses_adf else text) if text.strip() else None
        )
    if change.priority_id is not None:
        fields["priority"] = {"id": str(change.priority_id)}
    if fields:
        connector.client.call("PUT", f"issue/{ticket_id}", json={"fields": fields})
    if change.status_id is not None:
        _transition(connector, ticket_id, int(change.status_id))
    found = connector.get_tickets([ticket_id]).get(ticket_id)
    if found is None:
        raise RemoteNotFound(f"Jira issue {ticket_id} does not exist (any more).")
    return found


def author_id(connector: JiraConnector) -> str | None:
    """None: the issue fields a search returns name no author of the last change (only the
    changelog does), so ``changed_by`` is never set and no identity is needed to match it."""
    return None


def _transition(connector: JiraConnector, ticket_id: int, status_id: int) -> None:
    answer = connector.client.call(
        "GET", f"issue/{ticket_id}/transitions", params={"expand": "transitions.fields"}
    )
    usable = issues.usable_transitions((answer or {}).get("transitions"))
    chosen = next((t for t in usable if str((t.get("to") or {}).get("id")) == str(status_id)), None)
    if chosen is None:
        current = connector.get_tickets([ticket_id]).get(ticket_id)
        if current is not None and current.status_id == status_id:
            return  # already there: Jira lists no transition into the current status
        where = repr(current.status_label) if current is not None else "its status"
        raise RemoteRejected(
            f"Jira offers no transition from {where} to status {status_id} for issue "
            f"{current.number if current is not None else ticket_id}."
        )
    body = issues.transition_body(chosen, connector.config.resolution)
    connector.client.call("POST", f"issue/{ticket_id}/transitions", json=body)
