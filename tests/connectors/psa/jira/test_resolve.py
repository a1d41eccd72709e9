"""Notes, worklogs and the done transition: the resolve path and what each step costs."""

from __future__ import annotations

import pytest

from tests.connectors.psa.jira.scripted import (
    ScriptedJira,
    config,
    connector,
    issue,
    jira_error,
    ok,
)
from ticketbridge.connectors.errors import RemoteNotFound, RemoteRejected

V3 = "/rest/api/3"
DESK = ("10009", "service_desk")


def transitions(*found: tuple[str, str, str, str], resolution: bool = False) -> dict[str, object]:
    screen = {"resolution": {"required": False}} if resolution else {}
    return {
        "transitions": [
            {
                "id": tid,
                "name": name,
                "to": {"id": to, "name": name, "statusCategory": {"key": category}},
                "fields": screen,
            }
            for tid, name, to, category in found
        ]
    }


def test_internal_note_on_a_service_desk_issue_is_a_private_request_comment() -> None:
    jira = ScriptedJira()
    jira.on("GET", f"{V3}/issue/5", ok(issue(5, "HELP-5", project=DESK)))
    jira.on("POST", "/rest/servicedeskapi/request/5/comment", ok({"id": "301"}, 201))

    note = connector(jira).add_note(5, "Resolved by ticketbridge.", internal=True)

    assert note == 301
    assert jira.sent[-1].body == {"body": "Resolved by ticketbridge.", "public": False}


def test_internal_note_elsewhere_is_restricted_to_the_configured_role_as_adf() -> None:
    jira = ScriptedJira()
    jira.on("GET", f"{V3}/issue/5", ok(issue(5, "OPS-5")))
    jira.on("POST", f"{V3}/issue/5/comment", ok({"id": "401"}, 201))
    psa = connector(
        jira,
        config(internal_visibility_type="role", internal_visibility_value="Administrators"),
    )

    internal = psa.add_note(5, "Only staff.", internal=True)
    public = psa.add_note(5, "Everyone.", internal=False)

    assert internal == public == 401
    hidden, shown = (s.body for s in jira.sent if s.method == "POST")
    assert hidden["visibility"] == {"type": "role", "value": "Administrators"}
    assert hidden["body"]["type"] == "doc" and "visibility" not in shown
    assert jira.paths().count(f"GET {V3}/issue/5") == 1  # the project is read once


def test_note_on_a_deleted_issue_raises_remote_not_found() -> None:
    jira = ScriptedJira()
    jira.on("GET", f"{V3}/issue/5", jira_error(404, "Issue does not exist"))

    with pytest.raises(RemoteNotFound) as caught:
        connector(jira).add_note(5, "Still failing.")

    assert "Issue does not exist" in caught.value.message


def test_worklogs_are_counted_from_their_total() -> None:
    jira = ScriptedJira()
    jira.on("GET", f"{V3}/issue/5/worklog", ok({"startAt": 0, "total": 3, "worklogs": [{}]}))

    assert connector(jira).count_time_entries(5) == 3
    assert jira.sent[0].params["maxResults"] == ["1"]


def test_close_takes_the_transition_into_the_given_status_with_a_resolution() -> None:
    jira = ScriptedJira()
    found = transitions(
        ("11", "Start", "3", "indeterminate"),
        ("21", "Resolve", "5", "done"),
        ("31", "Close", "6", "done"),
        resolution=True,
    )
    jira.on("GET", f"{V3}/issue/5/transitions", ok(found))
    jira.on("POST", f"{V3}/issue/5/transitions", ok(None, 204))

    connector(jira).close_ticket(5, 6)

    assert jira.sent[0].params["expand"] == ["transitions.fields"]
    assert jira.sent[1].body == {
        "transition": {"id": "31"},
        "fields": {"resolution": {"name": "Done"}},
    }


def test_close_prefers_the_named_transition_and_sends_no_resolution_off_screen() -> None:
    jira = ScriptedJira()
    found = transitions(("21", "Resolve", "5", "done"), ("31", "Close", "6", "done"))
    jira.on("GET", f"{V3}/issue/5/transitions", ok(found))
    jira.on("POST", f"{V3}/issue/5/transitions", ok(None, 204))

    connector(jira, config(done_transition="close")).close_ticket(5, 999)

    assert jira.sent[1].body == {"transition": {"id": "31"}}


def test_closing_a_done_issue_is_a_no_op() -> None:
    jira = ScriptedJira()
    jira.on("GET", f"{V3}/issue/5/transitions", ok(transitions(("41", "Reopen", "1", "new"))))
    done = issue(
        5, "OPS-5", status=("6", "Closed", "done"), resolved="2026-01-02T10:00:00.000+0000"
    )
    jira.on("GET", f"{V3}/issue/5", ok(done))

    connector(jira).close_ticket(5, 6)

    assert all(s.method == "GET" for s in jira.sent)


def test_close_without_a_way_to_done_is_rejected_with_the_status() -> None:
    jira = ScriptedJira()
    jira.on(
        "GET", f"{V3}/issue/5/transitions", ok(transitions(("11", "Start", "3", "indeterminate")))
    )
    jira.on("GET", f"{V3}/issue/5", ok(issue(5, "OPS-5")))

    with pytest.raises(RemoteRejected) as caught:
        connector(jira).close_ticket(5, 6)

    assert "'To Do'" in caught.value.message and "OPS-5" in caught.value.message


def test_close_of_a_deleted_issue_raises_remote_not_found() -> None:
    jira = ScriptedJira()
    jira.on("GET", f"{V3}/issue/5/transitions", jira_error(404, "Issue does not exist"))

    with pytest.raises(RemoteNotFound):
        connector(jira).close_ticket(5, 6)


def test_resolve_after_reading_the_ticket_costs_four_requests_and_a_second_close_none() -> None:
    jira = ScriptedJira()
    jira.on("POST", f"{V3}/search/jql", ok({"issues": [issue(5, "HELP-5", project=DESK)]}))
    jira.on("GET", f"{V3}/issue/5/worklog", ok({"total": 0, "worklogs": []}))
    jira.on("POST", "/rest/servicedeskapi/request/5/comment", ok({"id": "9"}, 201))
    jira.on("GET", f"{V3}/issue/5/transitions", ok(transitions(("21", "Done", "6", "done"))))
    jira.on("POST", f"{V3}/issue/5/transitions", ok(None, 204))
    psa = connector(jira)
    psa.get_tickets([5])
    before = len(jira.sent)

    psa.count_time_entries(5)
    psa.add_note(5, "Resolved.", internal=True)
    psa.close_ticket(5, 6)
    psa.close_ticket(5, 6)

    assert len(jira.sent) - before == 4
