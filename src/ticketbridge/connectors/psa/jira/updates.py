"""An issue's summary, description, priority, status, reporter and category label written: the
Jira kind's ``ticket_updates`` capability (a ``TicketUpdates``, connectors/psa/capabilities.py).

Reference §1.7 and Atlassian's "Edit issue": ``PUT issue/{id}`` with ``fields`` sets summary,
description (ADF on REST v3, wiki text on v2) and priority (``{"id": ...}``), answering 204.
Status is no field: it moves only through a transition, so ``GET issue/{id}/transitions`` lists
those available now and the one whose target is the wanted status is taken with
``POST issue/{id}/transitions`` (with the configured resolution when its screen asks for one).
An issue already in that status needs none; no transition there is RemoteRejected, saying
from which status to which, never a silent no-op.

The sync's entity fields: the person becomes the reporter (the account with that address, as
on a create: one user search; an address Jira does not know, or a reporter it refuses for want
of the Modify Reporter permission, leaves the reporter as it was and is said in
``people.unlinked``, the rest of the edit is made); the category is a label, put on with
Jira's ``update`` verbs so the labels of ``replaces_categories`` come off and every other label
(the sync's reference labels among them) stays. The issue type is not changed: Jira's edit
changes it only where the new type shares the issue's workflow and field configuration, and
otherwise only a Move does (on Cloud an asynchronous bulk task), which this connector does not
start: ``moves_queue`` is False and the sync says so instead of writing it.

Requests: the edit when a field other than status changes, the transition list and the
transition when the status changes, and one read of the issue after (what the sync records
as synced). A deleted issue answers 404 (RemoteNotFound) to the first of them.
``author_id``: one ``GET myself`` per connector.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ticketbridge.connectors.errors import RemoteNotFound, RemoteRejected
from ticketbridge.connectors.psa.base import RemoteTicket, TicketPeople
from ticketbridge.connectors.psa.capabilities import TicketChange
from ticketbridge.connectors.psa.jira import changelog, issues, people
from ticketbridge.connectors.psa.jira.connector import JiraConnector

# An issue's type (its queue) changes only by a Move where its workflow or fields differ.
moves_queue = False


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
    update = _labels(change)
    said = _reporter(connector, change.reporter, fields)
    if fields or update:
        said = _edit(connector, ticket_id, (fields, update), change.reporter) or said
    if change.status_id is not None:
        _transition(connector, ticket_id, int(change.status_id))
    found = connector.get_tickets([ticket_id]).get(ticket_id)
    if found is None:
        raise RemoteNotFound(f"Jira issue {ticket_id} does not exist (any more).")
    return found if said is None else replace(found, people=said)


def _labels(change: TicketChange) -> dict[str, Any]:
    """The category as Jira's label verbs: the replaced labels off, the new one on."""
    if change.category is None:
        return {}
    label = issues.plain_label(change.category)
    ours = (issues.REFERENCE_LABEL, issues.UDF_LABEL)
    gone = {issues.plain_label(c) for c in change.replaces_categories} - {label, None}
    verbs: list[dict[str, str]] = [
        {"remove": old} for old in sorted(g for g in gone if g and not g.startswith(ours))
    ]
    if label is not None:
        verbs.append({"add": label})
    return {"labels": verbs} if verbs else {}


def _reporter(
    connector: JiraConnector, address: str | None, fields: dict[str, Any]
) -> TicketPeople | None:
    """The account with ``address`` set as the reporter field; None when none is asked."""
    if address is None:
        return None
    user = people.accounts(connector.client, [address]).get(address)
    if user is None:
        return TicketPeople(unlinked=((address, people.NOT_FOUND),))
    fields["reporter"] = people.reporter_field(connector.client, user)
    return TicketPeople(reporter=address)


def _edit(
    connector: JiraConnector,
    ticket_id: int,
    edit: tuple[dict[str, Any], dict[str, Any]],
    reporter: str | None,
) -> TicketPeople | None:
    """The PUT of ``edit`` (fields, update verbs). A reporter Jira refuses is dropped and the
    rest sent again, since a refused edit changed nothing: then the refusal, else None."""
    fields, update = edit
    body: dict[str, Any] = {"fields": fields} | ({"update": update} if update else {})
    try:
        connector.client.call("PUT", f"issue/{ticket_id}", json=body)
    except RemoteRejected as exc:
        if reporter is None or "reporter" not in fields or not people.refused_reporter(exc):
            raise
        del fields["reporter"]
        if fields or update:
            connector.client.call("PUT", f"issue/{ticket_id}", json=body)
        return TicketPeople(unlinked=((reporter, exc.message),))
    return None


def author_id(connector: JiraConnector) -> str | None:
    """The connection's own account as the changelog names it (``changed_by``): ``myself``'s
    accountId on Cloud, its key on Data Center. Asked once per connector."""
    if connector.own_account is None:
        connector.own_account = changelog.account_of(connector.client.call("GET", "myself")) or ""
    return connector.own_account or None


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
