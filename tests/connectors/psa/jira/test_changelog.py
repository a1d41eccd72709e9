"""Who last changed an issue's synced fields, read with the changed-since search against the
Jira emulator (Cloud and Data Center): the author comes with the page, never at a request per
issue, and the connection's own account is asked of ``myself`` once per connector."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.connectors.psa.jira.test_against_emulator import forget, logged
from tests.contract.jira_harness import JiraEmulatorHarness
from tests.factories import NOW
from ticketbridge.connectors.psa.base import TicketDraft
from ticketbridge.connectors.psa.jira import changelog, updates
from ticketbridge.emulators.jira import AGENT_API_TOKEN, AGENT_EMAIL, AGENT_PAT

OPS, TASK = 10000, 10001
API_ACCOUNT, AGENT_ACCOUNT = "5b10a2844c20165700ede21g", "5b10ac8d82e05b22cc7d4ef5"


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=[False, True], ids=["cloud", "datacenter"])
def world(request: pytest.FixtureRequest, clock: Clock) -> Iterator[JiraEmulatorHarness]:
    harness = JiraEmulatorHarness(datacenter=request.param, seed="empty", clock=clock)
    yield harness
    harness.close()


def _as_agent(world: JiraEmulatorHarness) -> dict[str, str]:
    if world.api.endswith("/2"):
        return {"Authorization": f"Bearer {AGENT_PAT}"}
    pair = base64.b64encode(f"{AGENT_EMAIL}:{AGENT_API_TOKEN}".encode()).decode()
    return {"Authorization": f"Basic {pair}"}


def _edit(world: JiraEmulatorHarness, issue: int, fields: dict[str, Any], *, agent: bool) -> None:
    headers = _as_agent(world) if agent else world.headers
    answer = world.http.put(f"{world.api}/issue/{issue}", json={"fields": fields}, headers=headers)
    assert answer.status_code == 204, answer.text


def _new(world: JiraEmulatorHarness, title: str) -> int:
    return world.connector.create_ticket(TicketDraft(OPS, title, "", TASK)).id


def _search(world: JiraEmulatorHarness) -> str:
    return f"POST {world.api}/search" + ("" if world.api.endswith("/2") else "/jql")


def _agent_id(world: JiraEmulatorHarness) -> str:
    return "agent" if world.api.endswith("/2") else AGENT_ACCOUNT  # Data Center: the user key


def test_changed_since_names_who_last_changed_a_synced_field_in_the_one_search(
    world: JiraEmulatorHarness, clock: Clock
) -> None:
    since = clock.now
    clock.advance()
    retitled, reassigned, untouched = (_new(world, t) for t in ("Disk full", "VPN", "Printer"))
    edited_at = clock.advance()
    _edit(world, retitled, {"summary": "Disk full on FS02"}, agent=True)
    _edit(world, reassigned, {"priority": {"id": "2"}}, agent=True)
    clock.advance()
    # The assignee is no field the sync carries: it says nothing about who wrote the priority.
    me = {"name": "api"} if world.api.endswith("/2") else {"accountId": API_ACCOUNT}
    _edit(world, reassigned, {"assignee": me}, agent=False)
    forget(world)

    found = {t.id: t for t in world.connector.changed_since(since)}

    assert (found[retitled].changed_by, found[retitled].changed_at) == (
        _agent_id(world),
        edited_at,
    )
    assert found[reassigned].changed_by == _agent_id(world)
    assert found[untouched].changed_by is None  # made, never changed: no history
    assert logged(world) == [_search(world)]


def test_the_syncs_own_account_is_asked_of_myself_once_per_connector(
    world: JiraEmulatorHarness,
) -> None:
    forget(world)

    first = updates.author_id(world.connector)
    again = updates.author_id(world.connector)

    assert first == again == ("api" if world.api.endswith("/2") else API_ACCOUNT)
    assert logged(world) == [f"GET {world.api}/myself"]


def test_the_changelog_search_stays_one_request_per_page(
    world: JiraEmulatorHarness, clock: Clock
) -> None:
    since = clock.now
    clock.advance()
    made = [_new(world, f"Alert {n}") for n in range(101)]  # a page holds 100
    _edit(world, made[-1], {"summary": "Alert 100 (retried)"}, agent=True)
    forget(world)

    found = world.connector.changed_since(since)

    assert len(found) == 101 and found[-1].changed_by == _agent_id(world)
    assert logged(world) == [_search(world)] * 2


def test_cloud_search_returns_the_40_most_recent_histories_and_the_newest_author_is_read(
    clock: Clock,
) -> None:
    world = JiraEmulatorHarness(seed="empty", clock=clock)
    since = clock.now
    clock.advance()
    issue = _new(world, "Backup")
    for n in range(44):
        clock.advance()
        _edit(world, issue, {"summary": f"Backup {n}"}, agent=False)
    clock.advance()
    _edit(world, issue, {"summary": "Backup (done)"}, agent=True)

    body = {"jql": "project = OPS", "fields": ["summary"], "expand": "changelog"}
    shown = world._api("POST", "search/jql", body)["issues"][0]["changelog"]
    found = world.connector.changed_since(since)
    world.close()

    assert (shown["startAt"], shown["total"], len(shown["histories"])) == (5, 45, 40)
    assert found[0].changed_by == AGENT_ACCOUNT


def _history(author: str, at: str, field: str = "summary") -> dict[str, Any]:
    return {"author": {"accountId": author}, "created": at, "items": [{"field": field}]}


def test_a_changelog_cut_before_its_newest_histories_names_nobody() -> None:
    older = [_history(AGENT_ACCOUNT, "2026-01-02T10:00:00.000+0000")]
    cut = {"changelog": {"startAt": 0, "maxResults": 1, "total": 50, "histories": older}}
    tail = {"changelog": {"startAt": 49, "maxResults": 1, "total": 50, "histories": older}}

    assert changelog.last_change(cut) == (None, None)
    assert changelog.last_change(tail)[0] == AGENT_ACCOUNT


def test_the_latest_synced_field_change_wins_whatever_the_histories_order() -> None:
    histories = [
        _history(API_ACCOUNT, "2026-01-02T11:00:00.000+0000"),
        _history(AGENT_ACCOUNT, "2026-01-02T12:00:00.000+0000", field="assignee"),
        _history(AGENT_ACCOUNT, "2026-01-02T09:00:00.000+0000"),
    ]
    issue = {"changelog": {"startAt": 0, "total": 3, "histories": histories}}

    author, at = changelog.last_change(issue)

    assert author == API_ACCOUNT and at is not None and at.hour == 11
