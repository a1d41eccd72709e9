"""What a resolve does to an existing issue: a note (a comment), the worklog count, the close by
a transition into the done category. ``JiraConnector.add_note``, ``count_time_entries`` and
``close_ticket`` are these, with what the connector last read of the issue (its project, its
status category, its worklog total) handed in so a resolve (read, note, close) does not ask
again. docs/connector-jira.md says what each costs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ticketbridge.connectors.errors import ConnectorConfigError, RemoteRejected
from ticketbridge.connectors.psa.base import RemoteTicket
from ticketbridge.connectors.psa.jira import issues
from ticketbridge.connectors.psa.jira.client import JiraClient
from ticketbridge.connectors.psa.jira.config import JiraConfig
from ticketbridge.connectors.psa.values import opt_int

# An internal note must never become a comment everyone who sees the issue can read.
NOTE_NEEDS_RESTRICTION = (
    "Internal notes on a Jira project that is not a service desk need a restriction role or "
    "group (internal_visibility_type and internal_visibility_value); none is set, so the note "
    "was not added."
)


def add_note(
    client: JiraClient,
    config: JiraConfig,
    ticket_id: int,
    text: str,
    *,
    internal: bool,
    desk: bool,
) -> int:
    """An internal note is a service desk internal comment when ``desk`` (the issue's project
    is a service desk), else a comment restricted to the configured role or group; without a
    restriction it is refused, never posted for everyone who can see the issue."""
    if internal and not desk and not config.internal_visibility_type:
        raise ConnectorConfigError(NOTE_NEEDS_RESTRICTION)
    if internal and desk:
        made = client.call(
            "POST",
            f"request/{int(ticket_id)}/comment",
            json={"body": text, "public": False},
            root=f"{client.base}/rest/servicedeskapi",
        )
    else:
        body: dict[str, Any] = {"body": issues.adf(text) if config.uses_adf else text}
        if internal:
            body["visibility"] = {
                "type": config.internal_visibility_type,
                "value": config.internal_visibility_value,
            }
        made = client.call("POST", f"issue/{int(ticket_id)}/comment", json=body)
    note_id = opt_int((made or {}).get("id"))
    if note_id is None:
        raise RemoteRejected("Jira added a comment but did not say which.")
    return note_id


def count_worklogs(client: JiraClient, ticket_id: int) -> int:
    """The issue's worklog total from a one-item page."""
    answer = client.call("GET", f"issue/{int(ticket_id)}/worklog", params={"maxResults": "1"})
    total = opt_int((answer or {}).get("total"))
    return total if total is not None else len((answer or {}).get("worklogs") or [])


def close(
    client: JiraClient,
    config: JiraConfig,
    ticket_id: int,
    status_id: int,
    read: Callable[[int], RemoteTicket],
) -> bool:
    """Take the transition into ``status_id``, else the configured or first transition into
    the done category (True); no transition there and the issue (``read`` again) already
    done: nothing to do (False)."""
    answer = client.call(
        "GET", f"issue/{ticket_id}/transitions", params={"expand": "transitions.fields"}
    )
    chosen = issues.done_transition(
        (answer or {}).get("transitions"), status_id, config.done_transition
    )
    if chosen is None:
        current = read(ticket_id)
        if current.is_completed:
            return False
        raise RemoteRejected(
            f"Jira offers no transition from {current.status_label!r} to a done status "
            f"for {current.number}."
        )
    body = issues.transition_body(chosen, config.resolution)
    client.call("POST", f"issue/{ticket_id}/transitions", json=body)
    return True
