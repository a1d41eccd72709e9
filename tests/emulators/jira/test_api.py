"""Shapes the jira package does not exercise, through an in-process httpx client."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

import httpx
from starlette.testclient import TestClient

from .conftest import FakeClock, create_issue

ADF = {
    "type": "doc",
    "version": 1,
    "content": [{"type": "paragraph", "content": [{"type": "text", "text": "hi"}]}],
}


def test_search_jql_pages_by_next_page_token_absent_on_last_page(cloud: TestClient) -> None:
    keys = [create_issue(cloud, summary=f"pager {n}")["key"] for n in range(4)]
    seen, token, pages = [], None, 0
    while True:
        body = {"jql": "project = OPS AND summary ~ pager ORDER BY created ASC", "maxResults": 3}
        body |= {"nextPageToken": token, "fields": ["key"]} if token else {"fields": ["key"]}
        page = cloud.post("/rest/api/3/search/jql", json=body).json()
        assert "total" not in page
        seen += [i["key"] for i in page["issues"]]
        pages += 1
        token = page.get("nextPageToken")
        assert page["isLast"] is (token is None)
        if token is None:
            break
    assert seen == keys and pages == 2


def test_unbounded_search_and_removed_search_answer_as_cloud_does(cloud: TestClient) -> None:
    unbounded = cloud.get("/rest/api/3/search/jql", params={"jql": "ORDER BY created"})
    assert unbounded.status_code == 400
    assert "Unbounded JQL" in unbounded.json()["errorMessages"][0]
    removed = cloud.get("/rest/api/2/search", params={"jql": "project = OPS"})
    assert removed.status_code == 410
    assert "/rest/api/3/search/jql" in removed.json()["errorMessages"][0]


def test_unsupported_jql_is_a_clear_400(cloud: TestClient) -> None:
    for jql, words in [
        ("assignee = currentUser()", "currentUser()"),
        ("status WAS Done", "WAS"),
        ("sprint = 4", "sprint"),
    ]:
        answer = cloud.get("/rest/api/3/search/jql", params={"jql": jql})
        assert answer.status_code == 400 and words in answer.json()["errorMessages"][0]


def test_jql_dates_in_epoch_ms_not_and_in(cloud: TestClient, clock: FakeClock) -> None:
    early = create_issue(cloud, labels=["a"])["key"]
    clock.advance(minutes=10)
    late = create_issue(cloud, labels=["b"])["key"]
    mark = int(clock.now.timestamp() * 1000)

    def keys(jql: str) -> list[str]:
        got = cloud.get("/rest/api/3/search/jql", params={"jql": jql, "fields": "key"})
        assert got.status_code == 200, got.text
        return [i["key"] for i in got.json()["issues"]]

    assert keys(f"project = OPS AND updated >= {mark}") == [late]
    assert keys("labels IN (a, b) AND NOT labels = b") == [early]
    assert keys('project = OPS AND (labels = a OR labels = "b") ORDER BY key ASC') == [early, late]


def test_create_validation_errors_are_field_errors(cloud: TestClient) -> None:
    answer = cloud.post("/rest/api/2/issue", json={"fields": {"project": {"key": "NOPE"}}})
    assert answer.status_code == 400
    assert answer.json() == {
        "errorMessages": [],
        "errors": {
            "project": "Specify a valid project ID or key",
            "issuetype": "Specify an issue type",
            "summary": "You must specify a summary of the issue.",
        },
    }
    plain = cloud.post(
        "/rest/api/3/issue",
        json={
            "fields": {
                "project": {"key": "OPS"},
                "issuetype": {"name": "Task"},
                "summary": "x",
                "description": "plain",
            }
        },
    )
    assert (
        plain.status_code == 400 and "Atlassian Document" in plain.json()["errors"]["description"]
    )


def test_v3_reads_adf_and_v2_reads_text_of_the_same_comment(cloud: TestClient) -> None:
    key = create_issue(cloud, "3", description=ADF)["key"]
    assert cloud.post(f"/rest/api/3/issue/{key}/comment", json={"body": "text"}).status_code == 400
    assert cloud.post(f"/rest/api/3/issue/{key}/comment", json={"body": ADF}).status_code == 201
    assert cloud.get(f"/rest/api/3/issue/{key}").json()["fields"]["description"] == ADF
    assert cloud.get(f"/rest/api/2/issue/{key}/comment").json()["comments"][0]["body"] == "hi"


def test_labels_update_operations_and_changelog(cloud: TestClient) -> None:
    key = create_issue(cloud, labels=["one", "two"])["key"]
    update = {"update": {"labels": [{"add": "three"}, {"remove": "one"}]}}
    assert cloud.put(f"/rest/api/2/issue/{key}", json=update).status_code == 204
    issue = cloud.get(f"/rest/api/2/issue/{key}", params={"expand": "changelog"}).json()
    assert issue["fields"]["labels"] == ["two", "three"]
    (item,) = issue["changelog"]["histories"][0]["items"]
    assert (item["field"], item["fromString"], item["toString"]) == (
        "labels",
        "one two",
        "two three",
    )
    spaced = cloud.put(f"/rest/api/2/issue/{key}", json={"fields": {"labels": ["a b"]}})
    assert spaced.status_code == 400 and "labels" in spaced.json()["errors"]


def test_rate_limit_answers_429_with_retry_after_until_the_window_passes(
    cloud: TestClient, clock: FakeClock
) -> None:
    cloud.put("/_emulator/rate-limit", json={"max_requests": 2, "per_seconds": 10})
    assert [cloud.get("/rest/api/2/myself").status_code for _ in range(2)] == [200, 200]
    clock.advance(seconds=3)
    limited = cloud.get("/rest/api/2/myself")
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "7"
    assert limited.json()["errorMessages"]
    clock.advance(seconds=7)
    assert cloud.get("/rest/api/2/myself").status_code == 200


def test_injected_503_carries_retry_after_then_clears(cloud: TestClient) -> None:
    fault = {"status": 503, "count": 1, "path_contains": "/issue", "retry_after": 5}
    assert cloud.post("/_emulator/faults", json=fault).status_code == 201
    failed = cloud.get("/rest/api/2/issue/OPS-1")
    assert failed.status_code == 503 and failed.headers["Retry-After"] == "5"
    assert cloud.get("/rest/api/2/issue/OPS-1").status_code == 200
    log = cloud.get("/_emulator/requests").json()
    assert [e["status"] for e in log[-2:]] == [503, 200]


def test_deleted_issue_404s_everywhere(cloud: TestClient) -> None:
    key = create_issue(cloud)["key"]
    assert cloud.delete(f"/rest/api/2/issue/{key}").status_code == 204
    for path in ("", "/comment", "/transitions", "/properties/x"):
        gone = cloud.get(f"/rest/api/2/issue/{key}{path}")
        assert gone.status_code == 404
    assert gone.json() == {
        "errorMessages": ["Issue does not exist or you do not have permission to see it."],
        "errors": {},
    }
    assert cloud.get(f"/browse/{key}").status_code == 404


def test_service_desk_internal_comment_is_not_public(cloud: TestClient) -> None:
    key = create_issue(cloud, project={"key": "SUP"}, issuetype={"name": "Incident"})["key"]
    made = cloud.post(
        f"/rest/servicedeskapi/request/{key}/comment", json={"body": "internal", "public": False}
    )
    assert made.status_code == 201 and made.json()["public"] is False
    listed = cloud.get(f"/rest/api/2/issue/{key}/comment", params={"expand": "properties"})
    (comment,) = listed.json()["comments"]
    assert comment["jsdPublic"] is False
    assert {"key": "sd.public.comment", "value": {"internal": True}} in comment["properties"]
    ops = create_issue(cloud)["key"]
    not_desk = cloud.post(f"/rest/servicedeskapi/request/{ops}/comment", json={"body": "x"})
    assert not_desk.status_code == 404


def test_resolve_transition_requires_a_resolution_on_the_service_desk(cloud: TestClient) -> None:
    key = create_issue(cloud, project={"key": "SUP"}, issuetype={"name": "Incident"})["key"]
    url = f"/rest/api/2/issue/{key}/transitions"
    listed = cloud.get(url, params={"expand": "transitions.fields"}).json()["transitions"]
    resolve = next(t for t in listed if t["to"]["statusCategory"]["key"] == "done")
    assert resolve["fields"]["resolution"]["required"] is True
    missing = cloud.post(url, json={"transition": {"id": resolve["id"]}})
    assert missing.status_code == 400
    assert missing.json()["errors"] == {"resolution": "Resolution is required."}
    done = {"transition": {"id": resolve["id"]}, "fields": {"resolution": {"name": "Done"}}}
    assert cloud.post(url, json=done).status_code == 204
    assert cloud.post(url, json=done).status_code == 400  # no longer available from Resolved


def test_attachment_upload_needs_the_xsrf_header(cloud: TestClient) -> None:
    key = create_issue(cloud)["key"]
    files = {"file": ("a.txt", b"abc", "text/plain")}
    refused = cloud.post(f"/rest/api/3/issue/{key}/attachments", files=files)
    assert refused.status_code == 403
    made = cloud.post(
        f"/rest/api/3/issue/{key}/attachments",
        files=files,
        headers={"X-Atlassian-Token": "no-check"},
    )
    (meta,) = made.json()
    assert meta["size"] == 3 and meta["mimeType"] == "text/plain"
    assert cloud.get(meta["content"].removeprefix("https://jira.test")).content == b"abc"


def test_cloud_attachment_content_redirects_unless_asked_not_to(cloud: TestClient) -> None:
    key = create_issue(cloud)["key"]
    made = cloud.post(
        f"/rest/api/3/issue/{key}/attachments",
        files={"file": ("a.bin", b"\x00\x01", "application/octet-stream")},
        headers={"X-Atlassian-Token": "no-check"},
    )
    url = f"/rest/api/3/attachment/content/{made.json()[0]['id']}"

    redirected = cloud.get(url, follow_redirects=False)
    direct = cloud.get(url, params={"redirect": "false"}, follow_redirects=False)

    assert redirected.status_code == 303 and "redirect=false" in redirected.headers["location"]
    assert (direct.status_code, direct.content) == (200, b"\x00\x01")


def test_issue_property_jql_matches_only_when_indexed(cloud: TestClient) -> None:
    key = create_issue(cloud)["key"]
    cloud.put(f"/rest/api/2/issue/{key}/properties/tb", json={"run": "r-7"})
    jql = {"jql": "issue.property[tb].run = r-7", "fields": "key"}
    assert cloud.get("/rest/api/3/search/jql", params=jql).json()["issues"] == []
    cloud.put("/_emulator/indexed-properties", json={"keys": ["tb"]})
    hits = cloud.get("/rest/api/3/search/jql", params=jql).json()["issues"]
    assert [h["key"] for h in hits] == [key]


def test_credentials_each_mode_accepts(make_client: Callable[..., TestClient]) -> None:
    dc = make_client(mode="dc")
    assert dc.get("/rest/api/2/myself").json()["name"] == "api"
    cloud_with_pat = make_client(auth={"Authorization": "Bearer demo-personal-access-token"})
    refused = cloud_with_pat.get("/rest/api/2/myself")
    assert refused.status_code == 401 and refused.json()["errorMessages"]
    anonymous = make_client(auth={"X-No": "auth"})
    assert anonymous.get("/rest/api/2/serverInfo").status_code == 200
    assert anonymous.get("/rest/api/2/myself").status_code == 401


def test_webhooks_are_signed_retried_and_shaped_like_jira(
    make_client: Callable[..., TestClient], clock: FakeClock
) -> None:
    received: list[httpx.Request] = []
    answers = iter([503, 200, 200, 200])

    def receiver(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(next(answers))

    client = make_client(outbound_client=httpx.AsyncClient(transport=httpx.MockTransport(receiver)))
    hook = {
        "name": "tb",
        "url": "https://hooks.test/jira",
        "secret": "s3cret",
        "events": ["jira:issue_created", "comment_created"],
        "filters": {"issue-related-events-section": "project = OPS"},
    }
    assert client.post("/rest/webhooks/1.0/webhook", json=hook).status_code == 201
    create_issue(client, project={"key": "SUP"}, issuetype={"name": "Incident"})  # filtered out
    key = create_issue(client)["key"]
    client.post(f"/rest/api/2/issue/{key}/comment", json={"body": "note"})
    first = client.post("/_emulator/deliver").json()
    assert [d["outcome"] for d in first] == ["retry", "delivered"]
    assert client.post("/_emulator/deliver").json() == []  # the retry waits for its backoff
    clock.advance(seconds=10)
    assert [d["outcome"] for d in client.post("/_emulator/deliver").json()] == ["delivered"]
    created, comment, retried = received
    assert (
        created.headers["X-Atlassian-Webhook-Identifier"]
        == retried.headers["X-Atlassian-Webhook-Identifier"]
    )
    assert retried.headers["X-Atlassian-Webhook-Retry"] == "1"
    digest = hmac.new(b"s3cret", retried.content, hashlib.sha256).hexdigest()
    assert retried.headers["X-Hub-Signature"] == f"sha256={digest}"
    payload: dict[str, Any] = json.loads(retried.content)
    assert payload["webhookEvent"] == "jira:issue_created" and payload["issue"]["key"] == key
    assert payload["issue_event_type_name"] == "issue_created" and payload["matchedWebhookIds"] == [
        1
    ]
    note = json.loads(comment.content)
    assert note["webhookEvent"] == "comment_created" and note["comment"]["body"]["type"] == "doc"


def test_snapshot_restore_and_reset(cloud: TestClient) -> None:
    snap = cloud.get("/_emulator/snapshot").json()
    key = create_issue(cloud)["key"]
    assert cloud.post("/_emulator/restore", json=snap).status_code == 200
    assert cloud.get(f"/rest/api/2/issue/{key}").status_code == 404
    assert cloud.post("/_emulator/reset", json={"seed": "empty"}).json()["issues"] == 0


def test_browse_page_escapes_and_allows_no_script(cloud: TestClient) -> None:
    key = create_issue(cloud, summary="<script>alert(1)</script>")["key"]
    page = cloud.get(f"/browse/{key}")
    assert page.status_code == 200 and "<script>" not in page.text
    assert "&lt;script&gt;" in page.text
    assert "script-src" not in page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]


def _hooked(
    make_client: Callable[..., TestClient], event: str
) -> tuple[TestClient, list[httpx.Request]]:
    """A client whose webhook for ``event`` delivers into the list returned with it."""
    received: list[httpx.Request] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(200)

    client = make_client(outbound_client=httpx.AsyncClient(transport=httpx.MockTransport(receiver)))
    hook = {"name": "tb", "url": "https://hooks.test/jira", "events": [event]}
    assert client.post("/rest/webhooks/1.0/webhook", json=hook).status_code == 201
    return client, received


def test_an_edited_comment_moves_its_issue_and_is_sent_as_comment_updated(
    make_client: Callable[..., TestClient], clock: FakeClock
) -> None:
    client, received = _hooked(make_client, "comment_updated")
    key = create_issue(client)["key"]
    made = client.post(f"/rest/api/2/issue/{key}/comment", json={"body": "draft"}).json()
    clock.advance(seconds=60)

    edited = client.put(f"/rest/api/2/issue/{key}/comment/{made['id']}", json={"body": "final"})

    assert edited.status_code == 200
    assert edited.json()["body"] == "final" and edited.json()["updated"] > made["updated"]
    assert edited.json()["created"] == made["created"]
    issue = client.get(f"/rest/api/2/issue/{key}", params={"fields": "updated"}).json()
    assert issue["fields"]["updated"] == edited.json()["updated"]
    missing = client.put(f"/rest/api/2/issue/{key}/comment/99999", json={"body": "x"})
    assert missing.status_code == 404
    assert (
        client.put(f"/rest/api/2/issue/{key}/comment/{made['id']}", json={"body": " "}).status_code
        == 400
    )
    client.post("/_emulator/deliver")
    [event] = [json.loads(r.content) for r in received]
    assert event["webhookEvent"] == "comment_updated"
    assert event["comment"]["body"]["content"][0]["content"][0]["text"] == "final"  # ADF on Cloud


def test_a_deleted_comment_is_gone_moves_its_issue_and_is_sent_as_comment_deleted(
    make_client: Callable[..., TestClient], clock: FakeClock
) -> None:
    client, received = _hooked(make_client, "comment_deleted")
    key = create_issue(client)["key"]
    made = client.post(f"/rest/api/2/issue/{key}/comment", json={"body": "wrong issue"}).json()
    clock.advance(seconds=60)

    deleted = client.delete(f"/rest/api/2/issue/{key}/comment/{made['id']}")

    assert deleted.status_code == 204
    assert client.get(f"/rest/api/2/issue/{key}/comment/{made['id']}").status_code == 404
    assert client.get(f"/rest/api/2/issue/{key}/comment").json()["comments"] == []
    issue = client.get(f"/rest/api/2/issue/{key}", params={"fields": "updated"}).json()
    assert issue["fields"]["updated"] > made["updated"]
    assert client.delete(f"/rest/api/2/issue/{key}/comment/{made['id']}").status_code == 404
    client.post("/_emulator/deliver")
    [event] = [json.loads(r.content) for r in received]
    assert event["webhookEvent"] == "comment_deleted"
    assert event["comment"]["id"] == made["id"]
