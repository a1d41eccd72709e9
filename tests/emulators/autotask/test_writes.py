"""Checklist item 5: creates, updates on the collection path, forbidden methods, validation."""

from __future__ import annotations

from .conftest import Api, errors

TICKET = {
    "companyID": 101,
    "title": "Backup failed",
    "status": 1,
    "priority": 2,
    "queueID": 29682833,
}


def test_create_returns_item_id(api: Api) -> None:
    response = api.post("/Tickets", TICKET)
    assert response.status_code == 200
    assert list(response.json()) == ["itemId"]


def test_patch_on_collection_path_with_id_in_body(api: Api) -> None:
    ticket_id = api.create_ticket()
    response = api.patch("/Tickets", {"id": ticket_id, "title": "Renamed"})
    assert response.json() == {"itemId": ticket_id}
    ticket = api.ticket(ticket_id)
    assert ticket["title"] == "Renamed" and ticket["priority"] == 2


def test_put_replaces_writable_fields(api: Api) -> None:
    ticket_id = api.create_ticket(description="kept?")
    response = api.put("/Tickets", {"id": ticket_id, **TICKET, "title": "Put"})
    assert response.status_code == 200
    ticket = api.ticket(ticket_id)
    assert ticket["title"] == "Put" and ticket["description"] is None


def test_patch_on_item_path_is_405(api: Api) -> None:
    response = api.patch("/Tickets/7001", {"title": "x"})
    assert response.status_code == 405
    assert "Message" in response.json()


def test_tickets_cannot_be_deleted_through_the_api(api: Api) -> None:
    assert api.delete("/Tickets/7001").status_code == 405
    assert api.ticket(7001)["id"] == 7001


def test_get_on_collection_root_is_405(api: Api) -> None:
    response = api.get("/Contacts")
    assert response.status_code == 405
    assert response.json() == {
        "Message": "The requested resource does not support http method 'GET'."
    }


def test_missing_required_field(api: Api) -> None:
    response = api.post("/Tickets", {k: v for k, v in TICKET.items() if k != "title"})
    assert response.status_code == 500
    assert errors(response) == ["Value does not exist for the required field title."]


def test_queue_required_by_tenant_setting(api: Api) -> None:
    response = api.post("/Tickets", {k: v for k, v in TICKET.items() if k != "queueID"})
    assert errors(response) == ["queueID is required"]


def test_length_from_metadata(api: Api) -> None:
    response = api.post("/Tickets", {**TICKET, "title": "x" * 256})
    assert response.status_code == 500
    assert "maximum length of 255" in errors(response)[0]
    assert api.post("/Tickets", {**TICKET, "title": "x" * 255}).status_code == 200


def test_invalid_and_inactive_picklist_values(api: Api) -> None:
    response = api.post("/Tickets", {**TICKET, "priority": 3})
    assert errors(response) == ["Picklist value [3] does not exist for priority"]
    inactive = api.post("/Tickets", {**TICKET, "status": 14})
    assert errors(inactive) == ["Picklist value [14] does not exist for status"]


def test_resource_without_role(api: Api) -> None:
    response = api.post("/Tickets", {**TICKET, "assignedResourceID": 31})
    assert errors(response) == [
        "When assigning a Resource, you must assign both a assignedResourceID and "
        "assignedResourceRoleID."
    ]
    ok = api.post(
        "/Tickets", {**TICKET, "assignedResourceID": 31, "assignedResourceRoleID": 29683400}
    )
    assert ok.status_code == 200


def test_nulls_in_a_create_body_fail(api: Api) -> None:
    response = api.post("/Tickets", {**TICKET, "dueDateTime": None})
    assert response.status_code == 500
    assert errors(response) == ["Object reference not set to an instance of an object."]


def test_null_in_patch_clears_an_optional_field(api: Api) -> None:
    ticket_id = api.create_ticket(externalID="ext-1")
    assert api.patch("/Tickets", {"id": ticket_id, "externalID": None}).status_code == 200
    assert api.ticket(ticket_id)["externalID"] is None


def test_reference_to_missing_company(api: Api) -> None:
    response = api.post("/Tickets", {**TICKET, "companyID": 999})
    assert errors(response) == ["Value does not reference an existing entity for companyID . "]


def test_update_of_missing_row(api: Api) -> None:
    response = api.patch("/Tickets", {"id": 1, "title": "x"})
    assert response.status_code == 500
    assert errors(response)[0].startswith("No matching records found.")


def test_unknown_entity_and_route_are_404(api: Api) -> None:
    assert api.get("/Bananas/1").status_code == 404
    assert api.get("/Tickets/abc").status_code == 404


def test_companies_create_and_rename(api: Api) -> None:
    response = api.post(
        "/Companies",
        {"companyName": "New Co", "companyType": 1, "phone": "555", "ownerResourceID": 31},
    )
    company_id = response.json()["itemId"]
    api.patch("/Companies", {"id": company_id, "companyName": "Newer Co"})
    assert api.get(f"/Companies/{company_id}").json()["item"]["companyName"] == "Newer Co"


def test_configuration_items(api: Api) -> None:
    response = api.post(
        "/ConfigurationItems",
        {
            "companyID": 101,
            "productID": 1,
            "configurationItemCategoryID": 101,
            "isActive": True,
            "referenceTitle": "NAS01",
        },
    )
    assert response.status_code == 200, response.text
    found = api.ids("ConfigurationItems", {"op": "eq", "field": "referenceTitle", "value": "nas01"})
    assert found == [response.json()["itemId"]]
