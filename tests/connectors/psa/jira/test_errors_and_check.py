"""Jira's answers mapped onto the error tree, secrets kept out, and Test connection's steps."""

from __future__ import annotations

import logging

import httpx
import pytest

from tests.connectors.psa.jira.scripted import (
    PAT,
    TOKEN,
    ScriptedJira,
    config,
    connector,
    datacenter,
    jira_error,
    ok,
)
from ticketbridge.connectors.errors import (
    ConnectorAuthError,
    ConnectorConfigError,
    ConnectorError,
    ConnectorPermissionError,
    ConnectorUnavailable,
    RemoteNotFound,
    RemoteRejected,
)

V3 = "/rest/api/3"


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (jira_error(401, "Client must be authenticated"), ConnectorAuthError),
        (jira_error(403, "You do not have permission"), ConnectorPermissionError),
        (jira_error(404, "Issue does not exist"), RemoteNotFound),
        (jira_error(400, "Bad JQL"), RemoteRejected),
        (jira_error(410, "The requested API has been removed."), ConnectorConfigError),
        (jira_error(503, "Down for maintenance"), ConnectorUnavailable),
    ],
)
def test_jira_answers_become_the_error_tree_keeping_jiras_text(
    answer: httpx.Response, error: type[ConnectorError]
) -> None:
    jira = ScriptedJira()
    jira.on("GET", f"{V3}/issue/5/worklog", answer)

    with pytest.raises(error) as caught:
        connector(jira).count_time_entries(5)

    assert type(caught.value) is error
    assert str(answer.json()["errorMessages"][0]) in caught.value.message
    assert caught.value.status_code == answer.status_code


def test_a_read_is_retried_after_retry_after_on_503() -> None:
    jira = ScriptedJira()
    busy = ok({"errorMessages": ["busy"]}, 503, **{"Retry-After": "2"})
    jira.on("GET", f"{V3}/issue/5/worklog", busy, ok({"total": 1}))
    sleeps: list[float] = []

    assert connector(jira, sleeps=sleeps).count_time_entries(5) == 1
    assert len(sleeps) == 1 and 2 <= sleeps[0] <= 2.2


def test_cloud_sends_basic_auth_and_no_secret_reaches_logs_or_errors(
    caplog: pytest.LogCaptureFixture,
) -> None:
    jira = ScriptedJira()
    jira.on("GET", f"{V3}/issue/5/worklog", jira_error(400, f"token {TOKEN} is odd"))
    psa = connector(jira, config(logging_level="full"))

    with caplog.at_level(logging.INFO), pytest.raises(RemoteRejected) as caught:
        psa.count_time_entries(5)

    assert jira.sent[0].headers["authorization"].startswith("Basic ")
    assert TOKEN not in caught.value.message and TOKEN not in (caught.value.response or "")
    assert caplog.text and TOKEN not in caplog.text
    assert jira.sent[0].headers["authorization"].split()[1] not in caplog.text


def test_check_reports_server_user_and_lists() -> None:
    jira = ScriptedJira()
    jira.on("GET", f"{V3}/serverInfo", ok({"version": "1001.0.0", "deploymentType": "Cloud"}))
    jira.on("GET", f"{V3}/myself", ok({"displayName": "Backup Bot"}))
    jira.on("GET", f"{V3}/issuetype", ok([{"id": "10002", "name": "Task"}]))
    jira.on(
        "GET", f"{V3}/status", ok([{"id": "1", "name": "To Do", "statusCategory": {"key": "new"}}])
    )
    jira.on("GET", f"{V3}/priority", ok([{"id": "3", "name": "Medium"}]))
    jira.on(
        "GET", f"{V3}/project/OPS", ok({"id": "1", "key": "OPS", "projectTypeKey": "service_desk"})
    )

    result = connector(jira, config(default_project="OPS")).check()

    assert result.ok
    assert "Backup Bot" in result.authenticated.message
    assert "project OPS (service desk)" in result.reference_access.message


def test_check_stops_at_refused_credentials_and_marks_the_rest_not_tried() -> None:
    jira = ScriptedJira()
    jira.on("GET", "/rest/api/2/serverInfo", ok({"version": "9.12.0", "deploymentType": "Server"}))
    jira.on("GET", "/rest/api/2/myself", jira_error(401))

    result = connector(jira, datacenter()).check()

    assert result.zone.ok and result.authenticated.ok is False
    assert result.reference_access.ok is None and not result.ok
    assert PAT not in result.authenticated.message


def test_check_says_when_the_deployment_is_set_wrongly() -> None:
    jira = ScriptedJira()
    jira.on("GET", "/rest/api/2/serverInfo", ok({"version": "1001.0.0", "deploymentType": "Cloud"}))

    result = connector(jira, datacenter()).check()

    assert result.zone.ok is False and "Cloud" in result.zone.message
