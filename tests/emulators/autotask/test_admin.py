"""The /_emulator/ admin API."""

from __future__ import annotations

from starlette.testclient import TestClient

from .conftest import Api, FakeClock, errors


def test_reset_restores_the_seed_and_clears_the_log(api: Api, client: TestClient) -> None:
    ticket_id = api.create_ticket()
    assert client.post("/_emulator/reset").json()["reset"] is True
    assert api.get(f"/Tickets/{ticket_id}").status_code == 404
    assert (
        client.get("/_emulator/requests")
        .json()["requests"][0]["path"]
        .endswith(f"/Tickets/{ticket_id}")
    )


def test_reset_to_empty_seed(api: Api, client: TestClient) -> None:
    client.post("/_emulator/reset", json={"seed": "empty"})
    assert api.ids("Companies", {"op": "gte", "field": "id", "value": 0}) == [0]
    assert client.post("/_emulator/seed", json={"seed": "demo"}).status_code == 200
    assert len(api.ids("Companies", {"op": "gte", "field": "id", "value": 0})) == 14


def test_request_log_counts_calls(api: Api, client: TestClient) -> None:
    api.create_ticket()
    api.get("/Companies/0")
    log = client.get("/_emulator/requests", params={"method": "POST"}).json()
    assert log["count"] == 1
    assert log["requests"][0]["status"] == 200
    assert '"title"' in log["requests"][0]["body"]
    assert log["total"] == 2
    since = client.get("/_emulator/requests", params={"since": 1}).json()
    assert [r["seq"] for r in since["requests"]] == [2]
    client.delete("/_emulator/requests")
    assert client.get("/_emulator/requests").json()["count"] == 0


def test_patch_company_renames_and_deactivates(api: Api, client: TestClient) -> None:
    response = client.patch(
        "/_emulator/companies/101", json={"companyName": "Acme Renamed", "isActive": False}
    )
    assert response.status_code == 200
    company = api.get("/Companies/101").json()["item"]
    assert company["companyName"] == "Acme Renamed" and company["isActive"] is False


def test_delete_company(api: Api, client: TestClient) -> None:
    assert client.delete("/_emulator/companies/102").status_code == 200
    assert api.get("/Companies/102").status_code == 404
    assert client.delete("/_emulator/companies/102").status_code == 404


def test_admin_ticket_edit_acts_as_a_technician(api: Api, client: TestClient) -> None:
    ticket_id = api.create_ticket()
    client.patch(f"/_emulator/tickets/{ticket_id}", json={"status": 5})
    ticket = api.ticket(ticket_id)
    assert ticket["status"] == 5 and ticket["completedByResourceID"] == 31
    note = client.post(f"/_emulator/tickets/{ticket_id}/notes", json={"description": "Fixed"})
    assert note.status_code == 200
    notes = api.ids("TicketNotes", {"op": "eq", "field": "ticketID", "value": ticket_id})
    assert notes == [note.json()["itemId"]]


def test_time_entries_add_and_remove(api: Api, client: TestClient, clock: FakeClock) -> None:
    ticket_id = api.create_ticket()
    clock.advance(minutes=10)
    added = client.post(
        "/_emulator/time-entries",
        json={
            "ticketID": ticket_id,
            "resourceID": 31,
            "roleID": 29683400,
            "hoursWorked": 0.25,
            "summaryNotes": "Checked the backup",
        },
    )
    assert added.status_code == 200, added.text
    entry_id = added.json()["itemId"]
    assert api.ids("TimeEntries", {"op": "eq", "field": "ticketID", "value": ticket_id}) == [
        entry_id
    ]
    assert api.ticket(ticket_id)["lastActivityDate"] == "2026-03-02T14:40:00.000Z"
    assert client.delete(f"/_emulator/time-entries/{entry_id}").status_code == 200
    assert api.ids("TimeEntries", {"op": "eq", "field": "ticketID", "value": ticket_id}) == []


def test_picklist_edit_changes_metadata_and_validation(api: Api, client: TestClient) -> None:
    added = client.post(
        "/_emulator/picklists/Tickets/queueID", json={"value": 777, "label": "Night Shift"}
    )
    assert added.status_code == 200
    assert (
        api.post(
            "/Tickets", {"companyID": 101, "title": "t", "status": 1, "priority": 2, "queueID": 777}
        ).status_code
        == 200
    )
    client.patch("/_emulator/picklists/Tickets/queueID/777", json={"isActive": False})
    refused = api.post(
        "/Tickets", {"companyID": 101, "title": "t", "status": 1, "priority": 2, "queueID": 777}
    )
    assert errors(refused) == ["Picklist value [777] does not exist for queueID"]
    fields = api.get("/Tickets/entityInformation/fields").json()["fields"]
    queue = next(f for f in fields if f["name"] == "queueID")
    assert {"value": "777", "label": "Night Shift", "isActive": False}.items() <= next(
        v for v in queue["picklistValues"] if v["value"] == "777"
    ).items()
    replaced = client.put(
        "/_emulator/picklists/Tickets/source", json={"values": [{"value": 6, "label": "Helpdesk"}]}
    )
    assert [v["label"] for v in replaced.json()["values"]] == ["Helpdesk"]


def test_udf_definitions_can_be_added(api: Api, client: TestClient) -> None:
    client.post("/_emulator/udfs/Tickets", json={"name": "Site", "length": 20})
    names = [
        f["name"] for f in api.get("/Tickets/entityInformation/userDefinedFields").json()["fields"]
    ]
    assert "Site" in names


def test_snapshot_and_restore(api: Api, client: TestClient) -> None:
    snapshot = client.get("/_emulator/snapshot").json()
    ticket_id = api.create_ticket()
    assert client.post("/_emulator/restore", json=snapshot).status_code == 200
    assert api.get(f"/Tickets/{ticket_id}").status_code == 404
    assert api.create_ticket() == ticket_id


def test_clock_can_be_advanced(api: Api, client: TestClient) -> None:
    client.post("/_emulator/clock", json={"advance_seconds": 86400})
    assert api.ticket(api.create_ticket())["ticketNumber"].startswith("T20260303.")


def test_unknown_admin_route_is_404(client: TestClient) -> None:
    assert client.get("/_emulator/nothing-here").status_code == 404
    assert "routes" in client.get("/_emulator/").json()
