"""The real `jira` package (pycontribs/jira 3.10.5) as a client of the emulator on uvicorn."""

from __future__ import annotations

import io

import httpx
import pytest
from jira import JIRA, JIRAError

from ticketbridge.emulators.jira import (
    AGENT_API_TOKEN,
    AGENT_EMAIL,
    DEMO_API_TOKEN,
    DEMO_EMAIL,
    DEMO_PAT,
)


def connect(url: str, **auth: object) -> JIRA:
    return JIRA(server=url, max_retries=0, timeout=10, **auth)  # type: ignore[arg-type]


def test_cloud_round_trip_create_comment_worklog_transition_search_attach(cloud_url: str) -> None:
    jira = connect(cloud_url, basic_auth=(DEMO_EMAIL, DEMO_API_TOKEN))
    assert jira.server_info()["deploymentType"] == "Cloud"
    assert jira.myself()["emailAddress"] == DEMO_EMAIL

    issue = jira.create_issue(
        fields={
            "project": {"key": "OPS"},
            "issuetype": {"name": "Task"},
            "summary": "Veeam job FS02 failed",
            "description": "3 of 5 objects failed",
            "labels": ["backup-failure", "tb-run-42"],
        }
    )
    assert issue.key.startswith("OPS-") and issue.fields.status.name == "To Do"
    jira.add_issue_property(issue.key, "ticketbridge", {"run": 42})
    assert jira.issue_property(issue.key, "ticketbridge").value.run == 42

    public = jira.add_comment(issue.key, "Looking into it")
    restricted = jira.add_comment(
        issue.key, "Admins only", visibility={"type": "role", "value": "Administrators"}
    )
    assert restricted.visibility.value == "Administrators"
    worklog = jira.add_worklog(issue.key, timeSpentSeconds="1800", comment="checked the repo")
    assert worklog.timeSpentSeconds == 1800 and worklog.timeSpent == "30m"

    names = {t["name"]: t["id"] for t in jira.transitions(issue.key)}
    assert names == {"In Progress": "21", "Done": "31"}
    jira.transition_issue(issue.key, "Done", fields={"resolution": {"name": "Won't Do"}})

    attachment = jira.add_attachment(issue.key, io.BytesIO(b"job log\n"), filename="job.log")
    assert attachment.size == 8

    found = jira.search_issues(
        "project = OPS AND labels = tb-run-42 AND statusCategory = done ORDER BY created DESC"
    )
    assert [f.key for f in found] == [issue.key]

    back = jira.issue(issue.key, expand="changelog")
    assert back.fields.summary == "Veeam job FS02 failed"
    assert back.fields.description == "3 of 5 objects failed"
    assert back.fields.status.statusCategory.key == "done"
    assert back.fields.resolution is not None
    assert back.fields.resolution.name == "Won't Do"
    assert [c.id for c in jira.comments(issue.key)] == [public.id, restricted.id]
    assert [w.id for w in jira.worklogs(issue.key)] == [worklog.id]
    assert jira.attachment(attachment.id).get() == b"job log\n"
    assert [a.filename for a in back.fields.attachment] == ["job.log"]
    status_change = [i for h in back.changelog.histories for i in h.items if i.field == "status"]
    assert [(i.fromString, i.toString) for i in status_change] == [("To Do", "Done")]

    agent = connect(cloud_url, basic_auth=(AGENT_EMAIL, AGENT_API_TOKEN))
    assert [c.id for c in agent.comments(issue.key)] == [public.id]


def test_string_project_create_and_enhanced_search_pages(cloud_url: str) -> None:
    jira = connect(cloud_url, basic_auth=(DEMO_EMAIL, DEMO_API_TOKEN))
    made = [jira.create_issue(project="OPS", issuetype="Bug", summary=f"n{n}") for n in range(3)]
    first = jira.enhanced_search_issues("project = OPS ORDER BY created ASC", maxResults=2)
    assert len(first) == 2 and first.nextPageToken
    rest = jira.enhanced_search_issues(
        "project = OPS ORDER BY created ASC", maxResults=2, nextPageToken=first.nextPageToken
    )
    keys = [i.key for i in [*first, *rest]]
    assert keys == ["OPS-1", *[m.key for m in made]]


def test_deleted_issue_is_a_404_jira_error(cloud_url: str) -> None:
    jira = connect(cloud_url, basic_auth=(DEMO_EMAIL, DEMO_API_TOKEN))
    issue = jira.create_issue(
        fields={"project": {"key": "OPS"}, "issuetype": {"id": "10001"}, "summary": "gone"}
    )
    issue.delete()
    with pytest.raises(JIRAError) as caught:
        jira.issue(issue.key)
    assert caught.value.status_code == 404
    assert "Issue does not exist" in str(caught.value.text)


def test_wrong_api_token_is_refused(cloud_url: str) -> None:
    with pytest.raises(JIRAError) as caught:
        connect(cloud_url, basic_auth=(DEMO_EMAIL, "wrong")).myself()
    assert caught.value.status_code == 401


def test_data_center_pat_bearer_connects_and_pages_with_start_at(dc_url: str) -> None:
    jira = connect(dc_url, token_auth=DEMO_PAT)
    assert jira.server_info()["deploymentType"] == "Server"
    issue = jira.create_issue(
        fields={"project": {"key": "SUP"}, "issuetype": {"name": "Incident"}, "summary": "DC"}
    )
    jira.add_comment(issue.key, "internal note", is_internal=True)
    page = jira.search_issues("project = SUP ORDER BY key ASC", startAt=1, maxResults=1)
    assert [i.key for i in page] == [issue.key] and page.total == 2
    assert jira.enhanced_search_issues("project = SUP") is None  # the package: Cloud only
    comment = jira.comments(issue.key)[0]
    assert comment.jsdPublic is False
    assert httpx.get(f"{dc_url}/rest/api/3/serverInfo").status_code == 404
