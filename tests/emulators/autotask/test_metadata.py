"""Checklist item 3: the entityInformation trio with inline picklists."""

from __future__ import annotations

import pytest

from .conftest import Api

ENTITIES = [
    "Tickets",
    "TicketNotes",
    "TimeEntries",
    "Companies",
    "Contacts",
    "ConfigurationItems",
    "TicketAttachments",
]
PICKLIST_KEYS = {
    "value",
    "label",
    "isDefaultValue",
    "sortOrder",
    "parentValue",
    "isActive",
    "isSystem",
}


@pytest.mark.parametrize("entity", ENTITIES)
def test_entity_information_trio(api: Api, entity: str) -> None:
    info = api.get(f"/{entity}/entityInformation").json()["info"]
    assert info["name"] == entity
    assert info["canQuery"] is True
    assert info["userAccessForQuery"] in {"All", "None", "Restricted"}
    fields = api.get(f"/{entity}/entityInformation/fields").json()["fields"]
    assert fields[0]["name"] == "id"
    for field in fields:
        if field["isPickList"]:
            assert isinstance(field["picklistValues"], list) and field["picklistValues"]
            assert set(field["picklistValues"][0]) == PICKLIST_KEYS
            assert isinstance(field["picklistValues"][0]["value"], str)
        else:
            assert field["picklistValues"] is None
    udfs = api.get(f"/{entity}/entityInformation/userDefinedFields")
    assert udfs.status_code == 200
    assert isinstance(udfs.json()["fields"], list)


def _picklist(api: Api, entity: str, name: str) -> dict[str, dict[str, object]]:
    fields = api.get(f"/{entity}/entityInformation/fields").json()["fields"]
    field = next(f for f in fields if f["name"] == name)
    return {v["value"]: v for v in field["picklistValues"]}


def test_ticket_picklists_hold_the_tenant_values(api: Api) -> None:
    status = _picklist(api, "Tickets", "status")
    assert status["1"]["label"] == "New" and status["1"]["isDefaultValue"] is True
    assert status["5"]["label"] == "Complete"
    assert any(v["isActive"] is False for v in status.values())
    priorities = {v["label"] for v in _picklist(api, "Tickets", "priority").values()}
    assert {"Low", "Medium", "High", "Critical"} <= priorities
    assert "Monitoring Alert" in {v["label"] for v in _picklist(api, "Tickets", "queueID").values()}
    assert "Helpdesk" in {v["label"] for v in _picklist(api, "Tickets", "source").values()}
    sub = _picklist(api, "Tickets", "subIssueType")
    assert all(v["parentValue"] for v in sub.values())


def test_note_publish_values_are_1_2_4(api: Api) -> None:
    publish = _picklist(api, "TicketNotes", "publish")
    assert sorted(publish) == ["1", "2", "4"]
    assert publish["1"]["label"] == "All Autotask Users"


def test_udf_definitions_use_the_field_shape_with_type(api: Api) -> None:
    fields = api.get("/Tickets/entityInformation/userDefinedFields").json()["fields"]
    assert fields and "type" in fields[0] and "dataType" not in fields[0]
    assert {"name", "label", "length", "isPickList", "picklistValues"} <= set(fields[0])


def test_child_route_metadata(api: Api) -> None:
    response = api.get("/Tickets/7001/Notes/entityInformation/fields")
    assert response.status_code == 200
    assert any(f["name"] == "publish" for f in response.json()["fields"])


def test_required_and_length_come_from_metadata(api: Api) -> None:
    fields = {f["name"]: f for f in api.get("/Tickets/entityInformation/fields").json()["fields"]}
    assert fields["title"]["isRequired"] is True and fields["title"]["length"] == 255
    assert fields["companyID"]["isReference"] is True
    assert fields["companyID"]["referenceEntityType"] == "Company"
    assert fields["creatorType"]["isQueryable"] is False
