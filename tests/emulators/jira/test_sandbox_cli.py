"""`ticketbridge emulate jira` as a user starts it: a real process the real `jira` package works
against, in Cloud and Data Center mode, keeping its issues across a restart with --state."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from jira import JIRA, JIRAError

from ticketbridge.emulators.jira import DEMO_API_TOKEN, DEMO_EMAIL, DEMO_PAT

from ...cli.processes import Command, free_port


def _sandbox(tmp_path: Path, port: int, *options: str) -> Command:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETBRIDGE_")}
    command = Command(["emulate", "jira", "--port", str(port), *options], env, tmp_path)
    command.wait_started()
    return command


def _create(jira: JIRA, summary: str) -> str:
    fields = {"project": {"key": "OPS"}, "issuetype": {"name": "Task"}, "summary": summary}
    return str(jira.create_issue(fields=fields).key)


def test_the_cloud_sandbox_keeps_an_issue_made_through_the_jira_package_across_a_restart(
    tmp_path: Path,
) -> None:
    port, state = free_port(), tmp_path / "jira-state.json"
    url = f"http://127.0.0.1:{port}"
    first = _sandbox(tmp_path, port, "--state", str(state))
    try:
        jira = JIRA(server=url, basic_auth=(DEMO_EMAIL, DEMO_API_TOKEN), max_retries=0)
        key = _create(jira, "Veeam job FS02 failed")
        with pytest.raises(JIRAError) as refused:
            JIRA(server=url, basic_auth=(DEMO_EMAIL, "not-the-token"), max_retries=0).myself()
    finally:
        assert first.interrupt() == 0, first.stderr

    second = _sandbox(tmp_path, port, "--state", str(state))
    try:
        again = JIRA(server=url, basic_auth=(DEMO_EMAIL, DEMO_API_TOKEN), max_retries=0)
        kept = again.issue(key)
    finally:
        assert second.interrupt() == 0, second.stderr

    assert refused.value.status_code == 401
    assert kept.fields.summary == "Veeam job FS02 failed"


def test_the_data_center_sandbox_takes_a_personal_access_token(tmp_path: Path) -> None:
    port = free_port()
    sandbox = _sandbox(tmp_path, port, "--mode", "dc")
    try:
        jira = JIRA(server=f"http://127.0.0.1:{port}", token_auth=DEMO_PAT, max_retries=0)
        info = jira.server_info()
        key = _create(jira, "Backup copy job warning")
    finally:
        assert sandbox.interrupt() == 0, sandbox.stderr

    assert info["deploymentType"] == "Server"
    assert key.startswith("OPS-")
