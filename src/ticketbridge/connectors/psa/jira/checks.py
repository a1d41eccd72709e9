"""The Jira connector's settings actions: the connection check and the reference data (issue
types as queues, statuses, priorities) the settings pages offer."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from ticketbridge.connectors.errors import ConnectorError
from ticketbridge.connectors.psa.base import CheckResult, CheckStep, ReferenceData
from ticketbridge.connectors.psa.jira import projects
from ticketbridge.connectors.psa.jira.client import JiraClient
from ticketbridge.connectors.psa.jira.config import JiraConfig
from ticketbridge.connectors.psa.jira.projects import JiraCache

NO_RESTRICTION_WARNING = (
    "No restriction role or group is set for internal notes: they will be refused on projects "
    "that are not service desks."
)


def check(
    client: JiraClient,
    config: JiraConfig,
    cache: JiraCache,
    reference_data: Callable[[], ReferenceData],
) -> CheckResult:
    """The server answers (and is the deployment configured), then who we sign in as, then the
    lists and the default project, each step only after the one before succeeded."""
    skipped = CheckStep(None, "Not tried: an earlier step failed.")
    try:
        info = client.call("GET", "serverInfo") or {}
    except ConnectorError as exc:
        return CheckResult(CheckStep(False, exc.message), skipped, skipped)
    found = str(info.get("deploymentType") or "")
    details = {"version": str(info.get("version") or ""), "deployment": found}
    if not config.internal_visibility_type:
        details["warning"] = NO_RESTRICTION_WARNING
    if (found.casefold() == "cloud") != client.cloud and found:
        wrong = f"This is Jira {found}; the connection is set to {config.deployment}."
        return CheckResult(CheckStep(False, wrong), skipped, skipped, details)
    reached = CheckStep(True, f"Jira {details['version'] or '?'} ({found or '?'}) answers.")
    try:
        me = client.call("GET", "myself") or {}
    except ConnectorError as exc:
        return CheckResult(reached, CheckStep(False, exc.message), skipped, details)
    name = str(me.get("displayName") or me.get("name") or "?")
    auth = CheckStep(True, f"Signed in as {name}.")
    try:
        counts = reference_data().counts()
        what = f"{counts['queues']} issue types, {counts['statuses']} statuses, "
        what += f"{counts['priorities']} priorities"
        if config.default_project:
            project = client.call("GET", f"project/{config.default_project}") or {}
            cache.learn(project)
            desk = project.get("projectTypeKey") == projects.SERVICE_DESK
            what += f"; project {project.get('key')}" + (" (service desk)" if desk else "")
        if config.organizations_of:  # reference_data() failed above when it is no desk
            what += f"; customers are organizations of service desk {config.organizations_of}"
    except ConnectorError as exc:
        return CheckResult(reached, auth, CheckStep(False, exc.message), details)
    if not (counts["queues"] and counts["statuses"] and counts["priorities"]):
        empty = CheckStep(False, f"Some lists are empty: {what}.")
        return CheckResult(reached, auth, empty, details)
    return CheckResult(reached, auth, CheckStep(True, f"Read {what}."), details)


def reference_data(
    client: JiraClient, config: JiraConfig, clock: Callable[[], float]
) -> ReferenceData:
    """Issue types (queues), statuses with categories and priorities: one request each."""
    types = client.call("GET", "issuetype")
    statuses = client.call("GET", "status")
    priorities = client.call("GET", "priority")
    if isinstance(priorities, dict):  # the paged shape of newer Cloud answers
        priorities = priorities.get("values")
    return ReferenceData(
        queues=projects.issue_types(types, config.issue_type),
        statuses=projects.statuses(statuses),
        priorities=projects.priorities(priorities),
        fetched_at=datetime.fromtimestamp(clock(), UTC),
    )
