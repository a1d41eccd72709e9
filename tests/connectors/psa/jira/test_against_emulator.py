"""Request costs and failure handling against the Jira emulator, seen in its request log."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from tests.contract.jira_harness import JiraEmulatorHarness, jira_connector
from ticketbridge.connectors.errors import ConnectorConfigError, ConnectorUnavailable
from ticketbridge.connectors.psa.base import TicketDraft
from ticketbridge.connectors.psa.jira.config import JiraConfig
from ticketbridge.connectors.psa.jira.connector import JiraConnector
from ticketbridge.connectors.psa.jira.people import NOT_FOUND
from ticketbridge.emulators.jira import AGENT_API_TOKEN, AGENT_EMAIL, DEMO_API_TOKEN, DEMO_EMAIL

OPS, SUP = 10000, 10001  # the seeded software project and service desk
TASK, SERVICE_REQUEST = 10001, 10003


@pytest.fixture
def world() -> Iterator[JiraEmulatorHarness]:
    harness = JiraEmulatorHarness()
    yield harness
    harness.close()


def logged(world: JiraEmulatorHarness) -> list[str]:
    entries: list[dict[str, Any]] = world.http.get("/_emulator/requests").json()
    return [f"{e['method']} {e['path']}" for e in entries]


def forget(world: JiraEmulatorHarness) -> None:
    world.http.delete("/_emulator/requests")


def fault(world: JiraEmulatorHarness, **spec: Any) -> None:
    response = world.http.post("/_emulator/faults", json=spec)
    assert response.status_code == 201, response.text


def draft(reference: str, project: int = OPS, issue_type: int = TASK) -> TicketDraft:
    description = "Nightly ended with errors."
    return TicketDraft(project, "Backup failed", description, issue_type, external_id=reference)


def test_create_and_its_reconciliation_search_cost_three_requests(
    world: JiraEmulatorHarness,
) -> None:
    psa = world.connector
    forget(world)

    made = psa.create_ticket(draft("run-7@tb"))
    found = psa.find_tickets(external_id="run-7@tb")

    assert found == [made]
    assert logged(world) == [
        "POST /rest/api/3/issue",
        f"GET /rest/api/3/issue/{made.id}",
        "POST /rest/api/3/search/jql",
    ]


def test_create_not_read_back_is_one_post_and_says_what_it_made(
    world: JiraEmulatorHarness,
) -> None:
    forget(world)

    made = world.connector.create_ticket(
        replace(draft("tbsync-1-a-42"), priority_id=3, labels=("backup",)), read_back=False
    )

    assert logged(world) == ["POST /rest/api/3/issue"]
    assert made.number.startswith("OPS-") and made.title == "Backup failed"
    assert (made.company_id, made.external_id) == (OPS, "tbsync-1-a-42")
    assert (made.description, made.priority_id, made.categories) == (
        "Nightly ended with errors.",
        3,
        ("backup",),
    )
    # Jira's workflow chose the status, and no read said which.
    assert made.status_id is None and {"status_id", "last_activity"} <= made.unread
    assert world.connector.get_tickets([made.id])[made.id].status_label == "To Do"


def test_internal_notes_on_copies_not_read_back_read_one_issue_per_unknown_project(
    world: JiraEmulatorHarness,
) -> None:
    psa = world.connector
    forget(world)

    copies = [
        psa.create_ticket(draft(f"tbsync-1-a-{n}", SUP, SERVICE_REQUEST), read_back=False)
        for n in (1, 2)
    ]
    for made in copies:
        psa.add_note(made.id, "Checked the job log.", internal=True)

    # The first note learns the desk's project type from one read; the second needs none.
    first, second = (made.id for made in copies)
    assert logged(world) == [
        "POST /rest/api/3/issue",
        "POST /rest/api/3/issue",
        f"GET /rest/api/3/issue/{first}",
        f"POST /rest/servicedeskapi/request/{first}/comment",
        f"POST /rest/servicedeskapi/request/{second}/comment",
    ]


def test_create_answered_500_is_not_repeated_and_its_outcome_is_unknown(
    world: JiraEmulatorHarness,
) -> None:
    fault(world, status=500, path_contains="/issue", methods=["POST"])
    forget(world)

    with pytest.raises(ConnectorUnavailable) as caught:
        world.connector.create_ticket(draft("run-8@tb"))

    assert caught.value.outcome_unknown
    assert logged(world) == ["POST /rest/api/3/issue"]


def test_create_throttled_with_retry_after_is_sent_again_once(world: JiraEmulatorHarness) -> None:
    fault(world, status=429, path_contains="/issue", methods=["POST"], retry_after=3)
    sleeps: list[float] = []
    world.connector.channel.sleep = sleeps.append
    forget(world)

    world.connector.create_ticket(draft("run-9@tb"))

    assert logged(world)[:2] == ["POST /rest/api/3/issue"] * 2
    assert len(sleeps) == 1 and sleeps[0] >= 3
    assert len(world.connector.find_tickets(external_id="run-9@tb")) == 1


def test_resolving_a_service_desk_request_costs_three_requests_after_the_read(
    world: JiraEmulatorHarness,
) -> None:
    psa = world.connector
    ticket = psa.create_ticket(draft("run-10@tb", SUP, SERVICE_REQUEST))
    done = next(s.id for s in psa.reference_data().statuses if s.name == "Resolved")
    forget(world)

    psa.get_tickets([ticket.id])
    read = len(logged(world))
    assert psa.count_time_entries(ticket.id) == 0
    psa.add_note(ticket.id, "Resolved by ticketbridge.", internal=True)
    psa.close_ticket(ticket.id, done)

    # The read's worklog total is the time-entry count: no request of its own.
    assert logged(world)[read:] == [
        f"POST /rest/servicedeskapi/request/{ticket.id}/comment",
        f"GET /rest/api/3/issue/{ticket.id}/transitions",
        f"POST /rest/api/3/issue/{ticket.id}/transitions",
    ]
    comments = world.http.get(
        f"/rest/api/3/issue/{ticket.id}/comment", headers=world.headers
    ).json()["comments"]
    assert [c["jsdPublic"] for c in comments] == [False]
    closed = psa.get_tickets([ticket.id])[ticket.id]
    assert closed.is_completed and closed.status_label == "Resolved"


@pytest.mark.parametrize("datacenter", [False, True], ids=["cloud", "datacenter"])
def test_projects_are_the_companies_found_by_name_and_id(datacenter: bool) -> None:
    world = JiraEmulatorHarness(datacenter=datacenter)
    psa = world.connector

    page = psa.search_companies("OPERATION")
    first = psa.search_companies("", page_size=1)
    rest = psa.search_companies("", page_size=1, cursor=first.next_cursor)
    found = psa.get_companies([SUP, OPS, 99_999])
    world.close()

    assert [(c.id, c.name, c.active) for c in page.items] == [(OPS, "Operations", True)]
    assert [c.id for c in first.items + rest.items] == [OPS, SUP] and rest.next_cursor is None
    assert sorted(found) == [OPS, SUP] and found[SUP].name == "Support"


def test_user_defined_values_are_found_set_on_create_or_by_hand_per_project(
    world: JiraEmulatorHarness,
) -> None:
    psa, name = world.connector, "XYZ Alert ID"
    alert = ((name, "a-1"),)
    ops = psa.create_ticket(TicketDraft(OPS, "Alert", queue_id=TASK, user_defined_fields=alert))
    sup = psa.create_ticket(TicketDraft(SUP, "Alert", queue_id=SERVICE_REQUEST))
    world.set_ticket_udf(sup.id, name, "a-1")
    psa.create_ticket(
        TicketDraft(OPS, "Alert", queue_id=TASK, user_defined_fields=((name, "A-1"),))
    )

    assert [t.id for t in psa.find_tickets_by_udf(name, "a-1")] == [ops.id, sup.id]
    assert [t.id for t in psa.find_tickets_by_udf(name, "a-1", company_id=SUP)] == [sup.id]
    assert psa.find_tickets_by_udf(name, "none") == []


def test_internal_note_outside_a_service_desk_is_hidden_from_users_outside_the_role(
    world: JiraEmulatorHarness,
) -> None:
    psa = jira_connector(
        world.http, internal_visibility_type="role", internal_visibility_value="Administrators"
    )
    ticket = psa.create_ticket(draft("run-12@tb"))
    hidden = psa.add_note(ticket.id, "Only administrators.", internal=True)
    shown = psa.add_note(ticket.id, "Everyone.", internal=False)

    def visible(who: str, token: str) -> set[int]:
        path = f"/rest/api/3/issue/{ticket.id}/comment"
        return {int(c["id"]) for c in world.http.get(path, auth=(who, token)).json()["comments"]}

    assert visible(DEMO_EMAIL, DEMO_API_TOKEN) == {hidden, shown}
    assert visible(AGENT_EMAIL, AGENT_API_TOKEN) == {shown}  # not in Administrators


def comments_seen_by_admin(world: JiraEmulatorHarness, ticket_id: int) -> list[dict[str, Any]]:
    path = f"/rest/api/3/issue/{ticket_id}/comment"
    found: list[dict[str, Any]] = world.http.get(path, headers=world.headers).json()["comments"]
    return found


def test_internal_note_outside_a_service_desk_without_a_restriction_is_refused_unsent(
    world: JiraEmulatorHarness,
) -> None:
    psa = jira_connector(world.http)  # no internal note role or group
    ticket = psa.create_ticket(draft("run-13@tb"))
    forget(world)

    with pytest.raises(ConnectorConfigError) as caught:
        psa.add_note(ticket.id, "Backup credentials rotated.", internal=True)
    public = psa.add_note(ticket.id, "Everyone may read this.", internal=False)

    assert "restriction role or group" in caught.value.message
    assert not caught.value.retryable
    assert logged(world) == [f"POST /rest/api/3/issue/{ticket.id}/comment"]  # the public one
    assert [c["id"] for c in comments_seen_by_admin(world, ticket.id)] == [str(public)]


def test_internal_note_on_a_service_desk_needs_no_restriction(world: JiraEmulatorHarness) -> None:
    psa = jira_connector(world.http)
    ticket = psa.create_ticket(draft("run-14@tb", SUP, SERVICE_REQUEST))

    psa.add_note(ticket.id, "Agents only.", internal=True)

    assert [c["jsdPublic"] for c in comments_seen_by_admin(world, ticket.id)] == [False]


@pytest.mark.parametrize("datacenter", [False, True], ids=["cloud", "datacenter"])
def test_test_connection_warns_when_internal_notes_have_no_restriction(datacenter: bool) -> None:
    world = JiraEmulatorHarness(datacenter=datacenter)
    auth: dict[str, Any] = {"deployment": "datacenter"} if datacenter else {}
    bare = jira_connector(world.http, **auth).check()
    restricted = world.connector.check()
    world.close()

    assert bare.ok and "restriction role or group" in bare.details["warning"]
    assert restricted.ok and "warning" not in restricted.details


# --- reporter and watchers by address --------------------------------------------------

CUSTOMER, OTHER = "casey@contoso.example", "dana@contoso.example"  # SUP's seeded customers
DRAFT = TicketDraft(SUP, "VPN drops", queue_id=SERVICE_REQUEST)


def test_each_address_costs_one_search_and_each_watcher_one_post(
    world: JiraEmulatorHarness,
) -> None:
    world.http.delete("/_emulator/requests")

    made = world.connector.create_ticket(replace(DRAFT, reporter=CUSTOMER, watchers=(OTHER,)))

    assert logged(world) == [
        "GET /rest/api/3/user/search",
        "GET /rest/api/3/user/search",
        "POST /rest/api/3/issue",
        f"GET /rest/api/3/issue/{made.id}",
        f"POST /rest/api/3/issue/{made.id}/watchers",
    ]


def test_create_not_read_back_with_a_reporter_adds_only_the_address_search(
    world: JiraEmulatorHarness,
) -> None:
    forget(world)

    made = world.connector.create_ticket(replace(DRAFT, reporter=CUSTOMER), read_back=False)

    assert logged(world) == ["GET /rest/api/3/user/search", "POST /rest/api/3/issue"]
    assert made.contact_email == CUSTOMER and made.people is not None
    assert made.people.reporter == CUSTOMER
    read = world.connector.get_tickets([made.id])[made.id]
    assert (read.number, read.title, read.contact_email) == (made.number, "VPN drops", CUSTOMER)


def test_a_reporter_jira_refuses_leaves_the_issue_made_without_one(
    world: JiraEmulatorHarness,
) -> None:
    before = len(world._api("POST", "search/jql", {"jql": "project = OPS"})["issues"])
    # A customer may report only on a service desk; OPS is a software project.
    made = world.connector.create_ticket(
        TicketDraft(OPS, "VPN drops", queue_id=TASK, reporter=CUSTOMER, watchers=(OTHER,))
    )

    issue = world._api("GET", f"issue/{made.id}?fields=reporter")
    assert issue["fields"]["reporter"]["emailAddress"] != CUSTOMER
    assert made.people is not None and made.people.reporter is None
    reasons = dict(made.people.unlinked)
    assert "reporter" in reasons[CUSTOMER]
    assert "permission" in reasons[OTHER]  # nor may a customer watch a software issue
    assert len(world._api("POST", "search/jql", {"jql": "project = OPS"})["issues"]) == before + 1


def searches(world: JiraEmulatorHarness) -> int:
    return logged(world).count("GET /rest/api/3/user/search")


def test_a_sender_looked_up_once_is_known_to_the_next_tickets_of_the_process(
    world: JiraEmulatorHarness,
) -> None:
    now = [0.0]
    world.connector.cache.accounts.clock = lambda: now[0]
    forget(world)

    first = world.connector.create_ticket(replace(DRAFT, reporter=CUSTOMER))
    now[0] = 9 * 60.0
    # A desk makes a connector per mail, all sharing the process's cache (runtime.psa_cache).
    again = JiraConnector(
        world.connector.config, http_client=world.http, cache=world.connector.cache
    )
    second = again.create_ticket(replace(DRAFT, title="VPN drops again", reporter=CUSTOMER.upper()))

    assert searches(world) == 1
    for made in (first, second):
        issue = world._api("GET", f"issue/{made.id}?fields=reporter")
        assert issue["fields"]["reporter"]["emailAddress"] == CUSTOMER
    # Another sign-in may see other people: its lookups are its own.
    agent = JiraConnector(
        replace_config(world, email=AGENT_EMAIL, api_token=AGENT_API_TOKEN),
        http_client=world.http,
        cache=world.connector.cache,
    )
    agent.create_ticket(replace(DRAFT, reporter=CUSTOMER))
    assert searches(world) == 2
    now[0] = 10 * 60.0 + 1  # past 10 minutes: asked again, a changed account is seen
    world.connector.create_ticket(replace(DRAFT, reporter=CUSTOMER))
    assert searches(world) == 3


def test_an_address_without_an_account_is_asked_again_after_two_minutes(
    world: JiraEmulatorHarness,
) -> None:
    now = [0.0]
    world.connector.cache.accounts.clock = lambda: now[0]
    stranger = "new.customer@contoso.example"
    forget(world)

    made = world.connector.create_ticket(replace(DRAFT, reporter=stranger))
    now[0] = 119.0
    world.connector.create_ticket(replace(DRAFT, reporter=stranger))
    assert searches(world) == 1
    assert made.people is not None and dict(made.people.unlinked)[stranger] == NOT_FOUND

    now[0] = 121.0  # a customer who signed up after the first mail is found within minutes
    world.connector.create_ticket(replace(DRAFT, reporter=stranger))
    assert searches(world) == 2


def replace_config(world: JiraEmulatorHarness, **changes: Any) -> JiraConfig:
    return JiraConfig(**(world.connector.config.model_dump() | changes))
