"""The emulator's Jira Service Management organizations: service desks, a desk's organizations
paged by start/limit, one by id, made, added, removed and deleted, the Organizations field in
/field and on issues, and Jira's refusal of an organization the issue's desk does not have."""

from __future__ import annotations

from pathlib import Path

from httpx import Response
from starlette.testclient import TestClient

from ticketbridge.emulators.jira.store import Store

SD = "/rest/servicedeskapi"
FIELD = "customfield_10002"


def test_the_seeded_service_desk_and_its_organizations(cloud: TestClient) -> None:
    desks = cloud.get(f"{SD}/servicedesk").json()
    assert [(d["id"], d["projectKey"], d["projectId"]) for d in desks["values"]] == [
        ("1", "SUP", "10001")
    ]
    assert desks["isLastPage"] is True
    # Cloud takes the project's key or id for the desk's id too.
    assert cloud.get(f"{SD}/servicedesk/SUP").json()["id"] == "1"
    first = cloud.get(f"{SD}/servicedesk/1/organization", params={"limit": 2}).json()
    assert [o["name"] for o in first["values"]] == ["Contoso Ltd", "Fabrikam Inc"]
    assert (first["start"], first["limit"], first["size"], first["isLastPage"]) == (0, 2, 2, False)
    assert first["_links"]["next"].endswith("/servicedesk/1/organization?start=2&limit=2")
    rest = cloud.get(f"{SD}/servicedesk/1/organization", params={"start": 2, "limit": 2}).json()
    assert ([o["id"] for o in rest["values"]], rest["isLastPage"]) == (["3"], True)
    missing = cloud.get(f"{SD}/servicedesk/OPS/organization")
    assert missing.status_code == 404 and "errorMessage" in missing.json()


def test_organizations_are_made_added_removed_and_deleted(cloud: TestClient) -> None:
    made = cloud.post(f"{SD}/organization", json={"name": "Tailspin Toys"})
    assert made.status_code == 201
    org = made.json()["id"]
    assert cloud.post(f"{SD}/organization", json={"name": "tailspin toys"}).status_code == 409
    listed = cloud.get(f"{SD}/servicedesk/1/organization").json()["values"]
    assert org not in [o["id"] for o in listed]
    added = cloud.post(f"{SD}/servicedesk/1/organization", json={"organizationId": int(org)})
    assert added.status_code == 204
    assert org in [o["id"] for o in cloud.get(f"{SD}/servicedesk/1/organization").json()["values"]]
    assert cloud.get(f"{SD}/organization/{org}").json()["name"] == "Tailspin Toys"
    gone = cloud.request("DELETE", f"{SD}/servicedesk/1/organization", json={"organizationId": org})
    assert gone.status_code == 204
    assert cloud.delete(f"{SD}/organization/{org}").status_code == 204
    unknown = cloud.get(f"{SD}/organization/{org}")
    assert unknown.status_code == 404
    assert unknown.json()["errorMessage"] == "The organization does not exist."


def post_issue(client: TestClient, project: str, organizations: list[int]) -> Response:
    kind = "Incident" if project == "SUP" else "Task"
    fields = {"project": {"key": project}, "issuetype": {"name": kind}, "summary": "Backup"}
    return client.post("/rest/api/2/issue", json={"fields": {**fields, FIELD: organizations}})


def test_the_organizations_field_is_listed_set_on_create_and_checked(cloud: TestClient) -> None:
    (field,) = [f for f in cloud.get("/rest/api/3/field").json() if f["id"] == FIELD]
    assert field["schema"]["custom"] == "com.atlassian.servicedesk:sd-customer-organizations"
    made = post_issue(cloud, "SUP", [2])
    assert made.status_code == 201, made.text
    key = made.json()["key"]
    fields = cloud.get(f"/rest/api/2/issue/{key}", params={"fields": FIELD}).json()["fields"]
    assert fields[FIELD] == [{"id": "2", "name": "Fabrikam Inc"}]

    outsider = cloud.post(f"{SD}/organization", json={"name": "Wide World Importers"}).json()
    refused = post_issue(cloud, "SUP", [int(outsider["id"])])
    assert refused.status_code == 400 and FIELD in refused.json()["errors"]
    on_ops = post_issue(cloud, "OPS", [1])
    assert on_ops.status_code == 400 and FIELD in on_ops.json()["errors"]

    # A deleted organization leaves the issues that carried it.
    assert cloud.delete(f"{SD}/organization/2").status_code == 204
    fields = cloud.get(f"/rest/api/2/issue/{key}", params={"fields": FIELD}).json()["fields"]
    assert fields[FIELD] == []


def test_a_state_file_from_before_organizations_were_state_gets_the_seeded_ones(
    tmp_path: Path,
) -> None:
    older = Store.fresh("demo")
    del older.data["organizations"], older.data["desk_organizations"]
    del older.data["next_ids"]["organization"]
    path = tmp_path / "jira.json"
    older.save(path)

    loaded = Store.load(path)

    assert loaded is not None
    assert sorted(loaded.data["organizations"]) == ["1", "2", "3"]
    assert loaded.new_id("organization") == "4"
