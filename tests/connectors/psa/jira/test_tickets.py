"""Creating, reading and finding issues: the requests sent and what comes back."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import httpx
import pytest

from tests.connectors.psa.jira.scripted import (
    ScriptedJira,
    connector,
    datacenter,
    issue,
    jira_error,
    ok,
)
from ticketbridge.connectors.errors import ConnectorUnavailable, RemoteRejected
from ticketbridge.connectors.psa.base import TicketDraft
from ticketbridge.connectors.psa.jira.issues import reference_label, udf_label

V3 = "/rest/api/3"


def draft(**changes: object) -> TicketDraft:
    fields: dict[str, object] = {
        "company_id": 10001,
        "title": "Backup failed\non SRV01",
        "description": "Job Nightly ended with errors.\n\nSee the run.",
        "queue_id": 10002,
        "priority_id": 3,
        "external_id": "tb-run 42",
    }
    return TicketDraft(**(fields | changes))  # type: ignore[arg-type]


def test_create_posts_adf_labels_and_the_reference_property_then_reads_the_issue_back() -> None:
    jira = ScriptedJira()
    label = reference_label("tb-run 42")
    jira.on("POST", f"{V3}/issue", ok({"id": "10050", "key": "OPS-7"}, 201))
    jira.on("GET", f"{V3}/issue/10050", ok(issue(10050, "OPS-7", labels=(label,))))

    ticket = connector(jira).create_ticket(draft())

    assert jira.paths() == [f"POST {V3}/issue", f"GET {V3}/issue/10050"]
    body = jira.sent[0].body
    fields = body["fields"]
    assert fields["project"] == {"id": "10001"} and fields["issuetype"] == {"id": "10002"}
    assert fields["summary"] == "Backup failed on SRV01"
    assert fields["priority"] == {"id": "3"} and fields["labels"] == [label]
    assert fields["description"]["type"] == "doc"
    assert [p["type"] for p in fields["description"]["content"]] == ["paragraph", "paragraph"]
    assert body["properties"] == [
        {"key": "ticketbridge", "value": {"reference": "tb-run 42", "udfs": {}}}
    ]
    assert jira.sent[1].params["properties"] == ["ticketbridge"]
    assert (ticket.id, ticket.number, ticket.company_id) == (10050, "OPS-7", 10001)
    assert ticket.external_id == "tb-run 42"  # read back from the label alone
    assert ticket.status_label == "To Do" and not ticket.is_completed


def test_create_on_data_center_sends_wiki_text_to_rest_v2_with_a_bearer_token() -> None:
    jira = ScriptedJira()
    jira.on("POST", "/rest/api/2/issue", ok({"id": "7", "key": "OPS-1"}, 201))
    jira.on("GET", "/rest/api/2/issue/7", ok(issue(7, "OPS-1", reference="tb-run 42")))

    connector(jira, datacenter()).create_ticket(draft(queue_id=None))

    fields = jira.sent[0].body["fields"]
    assert fields["description"] == "Job Nightly ended with errors.\n\nSee the run."
    assert fields["issuetype"] == {"name": "Task"}
    assert jira.sent[0].headers["authorization"].startswith("Bearer ")


def test_create_whose_answer_is_lost_is_not_repeated_and_says_the_outcome_is_unknown() -> None:
    jira = ScriptedJira()

    def lost(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("no answer", request=request)

    jira.on("POST", f"{V3}/issue", lost)

    with pytest.raises(ConnectorUnavailable) as caught:
        connector(jira).create_ticket(draft())

    assert caught.value.outcome_unknown
    assert jira.paths() == [f"POST {V3}/issue"]


def test_create_refused_with_429_is_sent_again_after_retry_after() -> None:
    jira = ScriptedJira()
    throttled = ok({"errorMessages": ["Rate limit exceeded."]}, 429, **{"Retry-After": "7"})
    jira.on("POST", f"{V3}/issue", throttled, ok({"id": "5", "key": "OPS-5"}, 201))
    jira.on("GET", f"{V3}/issue/5", ok(issue(5, "OPS-5")))
    sleeps: list[float] = []

    ticket = connector(jira, sleeps=sleeps).create_ticket(draft())

    assert ticket.id == 5
    assert [p for p in jira.paths() if p.startswith("POST")] == [f"POST {V3}/issue"] * 2
    assert len(sleeps) == 1 and 7 <= sleeps[0] <= 7.7


def test_create_rejected_keeps_jiras_field_errors_in_the_message() -> None:
    jira = ScriptedJira()
    jira.on("POST", f"{V3}/issue", jira_error(400, project="valid project is required"))

    with pytest.raises(RemoteRejected) as caught:
        connector(jira).create_ticket(draft())

    assert "project: valid project is required" in caught.value.message
    assert caught.value.status_code == 400


def test_get_tickets_searches_ids_by_jql_following_next_page_tokens() -> None:
    jira = ScriptedJira()
    jira.on(
        "POST",
        f"{V3}/search/jql",
        ok({"issues": [issue(1, "OPS-1")], "nextPageToken": "page-2", "isLast": False}),
        ok({"issues": [issue(2, "OPS-2")], "isLast": True}),
    )

    found = connector(jira).get_tickets([1, 2, 3, 2])

    assert sorted(found) == [1, 2]
    first, second = (s.body for s in jira.sent)
    assert first["jql"] == "id in (1, 2, 3)"
    assert first["properties"] == ["ticketbridge"] and "nextPageToken" not in first
    assert first["reconcileIssues"] == [1, 2, 3]
    assert second["nextPageToken"] == "page-2"


def test_get_tickets_on_data_center_pages_by_start_at() -> None:
    jira = ScriptedJira()
    jira.on(
        "POST",
        "/rest/api/2/search",
        ok({"issues": [issue(1, "OPS-1")], "startAt": 0, "total": 2}),
        ok({"issues": [issue(2, "OPS-2")], "startAt": 1, "total": 2}),
    )

    found = connector(jira, datacenter()).get_tickets([1, 2])

    assert sorted(found) == [1, 2]
    assert [s.body["startAt"] for s in jira.sent] == [0, 1]
    assert jira.sent[0].body["validateQuery"] == "warn"


def test_get_tickets_reads_one_by_one_when_jira_refuses_an_unknown_id_in_jql() -> None:
    jira = ScriptedJira()
    jira.on("POST", f"{V3}/search/jql", jira_error(400, "An issue with key '9' does not exist"))
    jira.on("GET", f"{V3}/issue/1", ok(issue(1, "OPS-1")))
    jira.on("GET", f"{V3}/issue/9", jira_error(404, "Issue does not exist"))

    assert list(connector(jira).get_tickets([1, 9])) == [1]


def test_find_by_number_is_one_read_and_a_missing_key_finds_nothing() -> None:
    jira = ScriptedJira()
    jira.on("GET", f"{V3}/issue/OPS-1", ok(issue(1, "OPS-9")))  # moved: answers to its old key
    jira.on("GET", f"{V3}/issue/OPS-2", jira_error(404, "Issue does not exist"))
    psa = connector(jira)

    assert psa.find_tickets(ticket_number="OPS-1") == []
    assert psa.find_tickets(ticket_number="OPS-2") == []
    with pytest.raises(ValueError):
        psa.find_tickets()


def test_references_are_found_by_label_in_one_query_matching_exactly() -> None:
    jira = ScriptedJira()
    wanted, other = "run-1@tb", "run-2@tb"
    jira.on(
        "POST",
        f"{V3}/search/jql",
        ok(
            {
                "issues": [
                    issue(3, "OPS-3", reference=wanted),
                    issue(1, "OPS-1", labels=(reference_label(wanted),)),
                    issue(2, "OPS-2", reference=wanted.upper()),
                ]
            }
        ),
    )

    found = connector(jira).find_tickets_by_references([wanted, other, wanted])

    assert {k: [t.id for t in v] for k, v in found.items()} == {wanted: [1, 3], other: []}
    jql = jira.sent[0].body["jql"]
    assert jql == f'labels in ("{reference_label(wanted)}", "{reference_label(other)}")'
    assert connector(ScriptedJira()).find_tickets_by_references([]) == {}


def test_udf_search_uses_the_label_and_checks_the_value_exactly() -> None:
    jira = ScriptedJira()
    name = "XYZ Alert ID"
    mine = issue(1, "OPS-1", labels=(udf_label(name, "a-1"),))
    upper = issue(2, "OPS-2", labels=(udf_label(name, "A-1"),))
    jira.on("POST", f"{V3}/search/jql", ok({"issues": [upper, mine]}))

    found = connector(jira).find_tickets_by_udf(name, "a-1", company_id=10001)

    assert [t.id for t in found] == [1]
    assert jira.sent[0].body["jql"] == f'labels = "{udf_label(name, "a-1")}" AND project = 10001'


def test_changed_since_asks_from_a_minute_earlier_in_epoch_ms_and_keeps_strictly_later() -> None:
    jira = ScriptedJira()
    since = datetime(2026, 1, 2, 10, 0, 30, tzinfo=UTC)
    jira.on(
        "POST",
        f"{V3}/search/jql",
        ok(
            {
                "issues": [
                    issue(1, "OPS-1", updated="2026-01-02T10:00:30.000+0000"),
                    issue(2, "OPS-2", updated="2026-01-02T11:00:30.000+0100"),  # same instant
                    issue(3, "OPS-3", updated="2026-01-02T10:00:30.001+0000"),
                ]
            }
        ),
    )

    found = connector(jira).changed_since(since)

    assert [t.id for t in found] == [3]
    start = int(datetime(2026, 1, 2, 9, 59, 30, tzinfo=UTC).timestamp() * 1000)
    assert jira.sent[0].body["jql"] == f"updated >= {start} ORDER BY updated ASC, id ASC"
    assert jira.sent[0].body["expand"] == "changelog"  # who changed each, in the same page
    with pytest.raises(ValueError):
        connector(jira).changed_since(datetime(2026, 1, 2))


def test_changed_pages_asks_for_each_page_when_it_is_wanted_in_order_of_creation() -> None:
    jira = ScriptedJira()
    since = datetime(2026, 1, 2, 10, 0, 30, tzinfo=UTC)
    later = "2026-01-02T10:05:00.000+0000"
    jira.on(
        "POST",
        f"{V3}/search/jql",
        ok(
            {
                "issues": [issue(n, f"OPS-{n}", updated=later) for n in range(1, 101)],
                "nextPageToken": "page-2",
                "isLast": False,
            }
        ),
        ok({"issues": [issue(101, "OPS-101", updated=later)], "isLast": True}),
    )

    pages = connector(jira).changed_pages(since, jql="labels = backup")
    first = next(pages)

    assert len(first) == 100 and len(jira.sent) == 1  # the second page is not read yet
    start = int(datetime(2026, 1, 2, 9, 59, 30, tzinfo=UTC).timestamp() * 1000)
    # By creation: an issue updated while the pages are read keeps its place.
    expected = f"(labels = backup) AND updated >= {start} ORDER BY created ASC, id ASC"
    assert jira.sent[0].body["jql"] == expected
    assert jira.sent[0].body["expand"] == "changelog"  # the author of a change, as listed
    assert [t.id for t in next(pages)] == [101]
    assert next(pages, None) is None


def test_a_drafts_tags_become_labels_without_spaces_beside_our_reference() -> None:
    jira = ScriptedJira()
    jira.on("POST", f"{V3}/issue", ok({"id": "10050", "key": "OPS-7"}, 201))
    jira.on("GET", f"{V3}/issue/10050", ok(issue(10050, "OPS-7")))
    tags = ("hardware", " printer  room ", "   ", "x" * 256, "hardware")

    connector(jira).create_ticket(replace(draft(), labels=tags))

    labels = jira.sent[0].body["fields"]["labels"]
    assert labels == [reference_label("tb-run 42"), "hardware", "printer_room"]
