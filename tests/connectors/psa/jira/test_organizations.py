"""Customers as a service desk's organizations (``organizations_of``), against the Jira
emulator: companies paged from the desk, read by id (a deleted one is absent), tickets created in
the service desk carrying the organization, and a clear refusal when the project is no desk."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.contract.jira_harness import JiraEmulatorHarness, jira_connector
from ticketbridge.connectors.errors import ConnectorConfigError
from ticketbridge.connectors.psa.base import RemoteCompany, TicketDraft
from ticketbridge.connectors.psa.jira.connector import JiraConnector

CONTOSO, FABRIKAM, NORTHWIND = 1, 2, 3  # the seeded organizations, all on SUP's desk
SUP = 10001
ORGANIZATIONS_FIELD = "customfield_10002"  # the emulator's; the connector finds it itself


@pytest.fixture(params=["cloud", "datacenter"])
def world(request: pytest.FixtureRequest) -> Iterator[JiraEmulatorHarness]:
    harness = JiraEmulatorHarness(datacenter=request.param == "datacenter")
    yield harness
    harness.close()


def desk_connector(world: JiraEmulatorHarness, project: str = "SUP") -> JiraConnector:
    deployment = "datacenter" if world.api.endswith("/2") else "cloud"
    return jira_connector(
        world.http,
        deployment=deployment,
        organizations_of=project,
        issue_type="Service Request",
    )


def jsm(world: JiraEmulatorHarness, method: str, path: str, body: Any = None) -> Any:
    """The service desk API as a Jira admin uses it."""
    answer = world.http.request(
        method, f"/rest/servicedeskapi/{path}", json=body, headers=world.headers
    )
    assert answer.is_success, answer.text
    return answer.json() if answer.content else None


def add_organization(world: JiraEmulatorHarness, name: str, *, on_desk: bool = True) -> int:
    made = jsm(world, "POST", "organization", {"name": name})
    if on_desk:
        jsm(world, "POST", "servicedesk/1/organization", {"organizationId": int(made["id"])})
    return int(made["id"])


def logged(world: JiraEmulatorHarness) -> list[str]:
    entries: list[dict[str, Any]] = world.http.get("/_emulator/requests").json()
    return [f"{e['method']} {e['path']}" for e in entries]


def forget(world: JiraEmulatorHarness) -> None:
    world.http.delete("/_emulator/requests")


def test_companies_are_the_desks_organizations_page_by_page(world: JiraEmulatorHarness) -> None:
    tailspin = add_organization(world, "Tailspin Toys")
    add_organization(world, "Wide World Importers", on_desk=False)  # another desk's customer
    psa = desk_connector(world)

    pages, cursor = [], None
    while True:
        page = psa.search_companies("", page_size=2, cursor=cursor)
        pages.append([c.name for c in page.items])
        if page.next_cursor is None:
            break
        cursor = page.next_cursor

    assert pages == [["Contoso Ltd", "Fabrikam Inc"], ["Northwind Traders", "Tailspin Toys"]]
    found = psa.search_companies("north").items
    assert found == (RemoteCompany(NORTHWIND, "Northwind Traders", True),)
    assert psa.search_companies("toys", page_size=50).items[0].id == tailspin


def test_an_organization_deleted_in_jira_is_absent_and_each_id_is_one_request(
    world: JiraEmulatorHarness,
) -> None:
    psa = desk_connector(world)
    jsm(world, "DELETE", f"organization/{NORTHWIND}")
    forget(world)

    found = psa.get_companies([CONTOSO, NORTHWIND, 999])

    assert found == {CONTOSO: RemoteCompany(CONTOSO, "Contoso Ltd", True)}
    # JSM reads organizations by id one at a time (no read of several by id).
    assert logged(world) == [
        f"GET /rest/servicedeskapi/organization/{i}" for i in (CONTOSO, NORTHWIND, 999)
    ]


def test_a_ticket_is_created_in_the_service_desk_carrying_its_organization(
    world: JiraEmulatorHarness,
) -> None:
    psa = desk_connector(world)
    forget(world)

    made = psa.create_ticket(TicketDraft(FABRIKAM, "Backup failed", external_id="run-1@tb"))
    again = psa.create_ticket(TicketDraft(CONTOSO, "Backup failed", external_id="run-2@tb"))

    # The desk and its Organizations field are found once, then each create is two requests.
    api = world.api
    assert logged(world) == [
        "GET /rest/servicedeskapi/servicedesk",
        f"GET {api}/field",
        f"POST {api}/issue",
        f"GET {api}/issue/{made.id}",
        f"POST {api}/issue",
        f"GET {api}/issue/{again.id}",
    ]
    assert (made.company_id, again.company_id) == (FABRIKAM, CONTOSO)
    assert made.number.startswith("SUP-")
    issue = world._api("GET", f"issue/{made.number}")
    assert issue["fields"]["project"]["id"] == str(SUP)
    assert [o["id"] for o in issue["fields"][ORGANIZATIONS_FIELD]] == [str(FABRIKAM)]
    assert psa.get_tickets([made.id])[made.id].company_id == FABRIKAM
    # A resolve's internal note is a service desk internal comment.
    note = psa.add_note(made.id, "Run succeeded on retry.", internal=True)
    (comment,) = world._api("GET", f"issue/{made.id}/comment")["comments"]
    assert int(comment["id"]) == note and comment["jsdPublic"] is False


def test_a_udf_search_for_one_organization_finds_only_its_tickets(
    world: JiraEmulatorHarness,
) -> None:
    psa = desk_connector(world)
    udf = (("Alert ID", "A-7"),)
    ours = psa.create_ticket(TicketDraft(CONTOSO, "Disk full", user_defined_fields=udf))
    psa.create_ticket(TicketDraft(FABRIKAM, "Disk full", user_defined_fields=udf))

    found = psa.find_tickets_by_udf("Alert ID", "A-7", company_id=CONTOSO)

    assert [t.id for t in found] == [ours.id]


@pytest.mark.parametrize("project", ["OPS", "NOPE"])
def test_a_project_that_is_not_a_service_desk_is_refused_saying_so(
    world: JiraEmulatorHarness, project: str
) -> None:
    psa = desk_connector(world, project)

    checked = psa.check()

    assert checked.authenticated.ok is True
    assert checked.reference_access.ok is False
    assert f"Jira project {project} is not a service desk" in checked.reference_access.message
    with pytest.raises(ConnectorConfigError, match="is not a service desk"):
        psa.reference_data()
    with pytest.raises(ConnectorConfigError, match="is not a service desk"):
        psa.search_companies("")
    with pytest.raises(ConnectorConfigError, match="is not a service desk"):
        psa.create_ticket(TicketDraft(CONTOSO, "Backup failed"))
    assert not any("POST" in line and "/issue" in line for line in logged(world))


def test_the_check_names_the_service_desk(world: JiraEmulatorHarness) -> None:
    checked = desk_connector(world).check()

    assert checked.reference_access.ok is True, checked.reference_access.message
    assert "organizations of service desk SUP" in checked.reference_access.message
