"""Checklist items 6-7: ticket numbers, dates, notes, attachments, time entries, contacts."""

from __future__ import annotations

import base64

from starlette.testclient import TestClient

from .conftest import Api, FakeClock, errors


def test_ticket_numbers_count_per_day(api: Api, clock: FakeClock) -> None:
    first = api.ticket(api.create_ticket())
    second = api.ticket(api.create_ticket())
    assert first["ticketNumber"] == "T20260302.0001"
    assert second["ticketNumber"] == "T20260302.0002"
    clock.advance(days=1)
    assert api.ticket(api.create_ticket())["ticketNumber"] == "T20260303.0001"


def test_create_sets_dates_and_external_id(api: Api) -> None:
    ticket = api.ticket(api.create_ticket(externalID="sig-42"))
    assert ticket["createDate"] == "2026-03-02T14:30:00.000Z"
    assert ticket["lastActivityDate"] == ticket["createDate"]
    assert ticket["externalID"] == "sig-42"
    assert ticket["completedDate"] is None
    assert ticket["userDefinedFields"] == [
        {"name": "TicketBridge Key", "value": None},
        {"name": "Callout Enabled", "value": None},
        {"name": "Backup Job", "value": None},
    ]


def test_every_change_moves_last_activity(api: Api, clock: FakeClock) -> None:
    ticket_id = api.create_ticket()
    clock.advance(minutes=5)
    api.patch("/Tickets", {"id": ticket_id, "priority": 1})
    assert api.ticket(ticket_id)["lastActivityDate"] == "2026-03-02T14:35:00.000Z"
    clock.advance(minutes=5)
    api.post(f"/Tickets/{ticket_id}/Notes", {"description": "d", "noteType": 1, "publish": 1})
    assert api.ticket(ticket_id)["lastActivityDate"] == "2026-03-02T14:40:00.000Z"
    clock.advance(minutes=5)
    entry = api.post(
        "/TimeEntries",
        {"ticketID": ticket_id, "resourceID": 31, "roleID": 29683400, "hoursWorked": 0.5},
    )
    assert entry.status_code == 200, entry.text
    assert api.ticket(ticket_id)["lastActivityDate"] == "2026-03-02T14:45:00.000Z"


def test_complete_sets_completed_date_and_reopen_clears_it(api: Api, clock: FakeClock) -> None:
    ticket_id = api.create_ticket()
    clock.advance(hours=1)
    api.patch("/Tickets", {"id": ticket_id, "status": 5})
    ticket = api.ticket(ticket_id)
    assert ticket["completedDate"] == "2026-03-02T15:30:00.000Z"
    assert ticket["completedByResourceID"] == 29
    api.patch("/Tickets", {"id": ticket_id, "status": 8})
    assert api.ticket(ticket_id)["completedDate"] is None


def test_udfs_are_written_and_read_as_an_array(api: Api) -> None:
    ticket_id = api.create_ticket(userDefinedFields=[{"name": "Backup Job", "value": "Nightly"}])
    udfs = {u["name"]: u["value"] for u in api.ticket(ticket_id)["userDefinedFields"]}
    assert udfs["Backup Job"] == "Nightly"
    flat = api.patch("/Tickets", {"id": ticket_id, "userDefinedFields": {"Backup Job": "x"}})
    assert flat.status_code == 500


def test_missing_and_deleted_tickets_are_404(api: Api, client: TestClient) -> None:
    assert api.get("/Tickets/424242").status_code == 404
    ticket_id = api.create_ticket()
    assert client.delete(f"/_emulator/tickets/{ticket_id}").status_code == 200
    assert api.get(f"/Tickets/{ticket_id}").status_code == 404
    assert api.ids("Tickets", {"op": "eq", "field": "id", "value": ticket_id}) == []


def test_notes_are_written_only_as_children(api: Api) -> None:
    ticket_id = api.create_ticket()
    top = api.post(
        "/TicketNotes", {"ticketID": ticket_id, "description": "d", "noteType": 1, "publish": 1}
    )
    assert top.status_code == 404
    child = api.post(
        f"/Tickets/{ticket_id}/Notes",
        {"title": "Hello", "description": "d", "noteType": 1, "publish": 2},
    )
    note_id = child.json()["itemId"]
    assert api.ids("TicketNotes", {"op": "eq", "field": "ticketID", "value": ticket_id}) == [
        note_id
    ]
    assert api.get(f"/TicketNotes/{note_id}").json()["item"]["publish"] == 2
    listed = api.get(f"/Tickets/{ticket_id}/Notes").json()["items"]
    assert [n["id"] for n in listed] == [note_id]
    bad = api.post(f"/Tickets/{ticket_id}/Notes", {"description": "d", "noteType": 1, "publish": 3})
    assert errors(bad) == ["Picklist value [3] does not exist for publish"]
    patched = api.patch(f"/Tickets/{ticket_id}/Notes", {"id": note_id, "title": "Edited"})
    assert patched.status_code == 200


def test_time_entry_rules(api: Api) -> None:
    ticket_id = api.create_ticket()
    no_role = api.post("/TimeEntries", {"ticketID": ticket_id, "resourceID": 31, "hoursWorked": 1})
    assert errors(no_role) == ["TimeEntries for Tickets must have a roleID"]
    no_hours = api.post(
        "/TimeEntries", {"ticketID": ticket_id, "resourceID": 31, "roleID": 29683400}
    )
    assert errors(no_hours) == [
        "Must have at least one of hoursWorked or startDateTime/endDateTime"
    ]
    no_resource = api.post(
        "/TimeEntries", {"ticketID": ticket_id, "roleID": 29683400, "hoursWorked": 1}
    )
    assert errors(no_resource) == ["Value does not exist for the required field resourceID."]
    ok = api.post(
        "/TimeEntries",
        {
            "ticketID": ticket_id,
            "resourceID": 31,
            "roleID": 29683400,
            "startDateTime": "2026-03-02T10:00:00Z",
            "endDateTime": "2026-03-02T11:30:00Z",
        },
    )
    entry = api.get(f"/TimeEntries/{ok.json()['itemId']}").json()["item"]
    assert entry["hoursWorked"] == 1.5
    assert api.ids("TimeEntries", {"op": "eq", "field": "ticketID", "value": ticket_id}) == [
        entry["id"]
    ]
    assert api.delete(f"/TimeEntries/{entry['id']}").json() == {"itemId": entry["id"]}


def test_attachments_as_child_routes(api: Api) -> None:
    ticket_id = api.create_ticket()
    data = base64.b64encode(b"log line\n").decode()
    body = {
        "id": 0,
        "attachmentType": "FILE_ATTACHMENT",
        "fullPath": "log.txt",
        "title": "log.txt",
        "publish": 1,
        "data": data,
    }
    created = api.post(f"/Tickets/{ticket_id}/Attachments", body)
    assert created.status_code == 200, created.text
    attachment_id = created.json()["itemId"]
    one = api.get(f"/Tickets/{ticket_id}/Attachments/{attachment_id}").json()
    assert one["items"][0]["data"] == data and one["items"][0]["fileSize"] == 9
    listing = api.get(f"/Tickets/{ticket_id}/Attachments").json()["items"]
    assert "data" not in listing[0]
    missing = api.post(f"/Tickets/{ticket_id}/Attachments", {**body, "title": None})
    assert missing.status_code == 500
    assert api.delete(f"/Tickets/{ticket_id}/Attachments/{attachment_id}").status_code == 200


def test_attachment_size_and_volume_limits(api: Api, clock: FakeClock) -> None:
    ticket_id = api.create_ticket()
    body = {"attachmentType": "FILE_ATTACHMENT", "fullPath": "a.bin", "title": "a", "publish": 1}
    big = base64.b64encode(b"x" * (6 * 1024 * 1024 + 1)).decode()
    too_big = api.post(f"/Tickets/{ticket_id}/Attachments", {**body, "data": big})
    assert "maximum file size" in errors(too_big)[0]
    chunk = base64.b64encode(b"x" * 3_000_000).decode()
    for _ in range(3):
        assert (
            api.post(f"/Tickets/{ticket_id}/Attachments", {**body, "data": chunk}).status_code
            == 200
        )
    blocked = api.post(f"/Tickets/{ticket_id}/Attachments", {**body, "data": chunk})
    assert "10,000,000 bytes in 5 minutes" in errors(blocked)[0]
    clock.advance(minutes=5)
    assert api.post(f"/Tickets/{ticket_id}/Attachments", {**body, "data": chunk}).status_code == 200


def test_contacts_written_through_company_and_is_active_is_an_int(api: Api) -> None:
    created = api.post(
        "/Companies/101/Contacts", {"firstName": "Ann", "lastName": "Lee", "isActive": 1}
    )
    assert created.status_code == 200, created.text
    contact = api.get(f"/Contacts/{created.json()['itemId']}").json()["item"]
    assert contact["companyID"] == 101 and contact["isActive"] == 1
    assert (
        api.post(
            "/Contacts", {"firstName": "A", "lastName": "B", "companyID": 101, "isActive": 1}
        ).status_code
        == 404
    )
    active = api.ids("Contacts", {"op": "eq", "field": "isActive", "value": 1})
    assert contact["id"] in active


def test_company_zero_is_the_msp(api: Api) -> None:
    assert api.get("/Companies/0").json()["item"]["companyName"] == "TicketBridge Demo MSP"
