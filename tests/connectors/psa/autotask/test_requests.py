"""What the connector sends: paging, `in` batching, reference data cost, writes, error texts."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.connectors.psa.autotask.double import (
    API,
    NOTE_FIELDS,
    TICKET_FIELDS,
    ApiDouble,
    errors,
    make_connector,
)
from ticketbridge.connectors.errors import (
    ConnectorAuthError,
    ConnectorConfigError,
    ConnectorPermissionError,
    ConnectorUnavailable,
    RemoteNotFound,
    RemoteRejected,
)
from ticketbridge.connectors.psa.autotask import query
from ticketbridge.connectors.psa.autotask.picklists import index_fields, picklist
from ticketbridge.connectors.psa.base import PicklistValue, TicketDraft

FIELDS_OK = httpx.Response(200, json=TICKET_FIELDS)
NOTES_OK = httpx.Response(200, json=NOTE_FIELDS)


def page(items: list[dict[str, object]], next_url: str | None) -> httpx.Response:
    details = {
        "count": len(items),
        "requestCount": 500,
        "prevPageUrl": None,
        "nextPageUrl": next_url,
    }
    return httpx.Response(200, json={"items": items, "pageDetails": details})


def company(i: int) -> dict[str, object]:
    return {"id": i, "companyName": f"Company {i}", "isActive": i % 2 == 0}


def test_paging_follows_next_page_urls_with_the_same_method_and_body() -> None:
    api = ApiDouble()
    next1 = f"{API}/Companies/query/next?paging=%7B%22a%22%3A1%7D"
    next2 = f"{API}/Companies/query/next?paging=%7B%22a%22%3A2%7D"
    api.on("POST", r".*/Companies/query", page([company(1)], next1))
    api.on("POST", r".*/Companies/query/next", page([company(2)], next2), page([company(3)], None))

    found = make_connector(api).get_companies([1, 2, 3])

    assert sorted(found) == [1, 2, 3] and found[2].active and not found[1].active
    queries = api.requests[1:]
    assert [r.method for r in queries] == ["POST", "POST", "POST"]
    assert [str(r.url) for r in queries[1:]] == [next1, next2]
    bodies = api.bodies()[1:]
    assert bodies[0] == bodies[1] == bodies[2]


def test_paging_link_to_another_host_is_refused_before_credentials_leave() -> None:
    api = ApiDouble()
    api.on("POST", r".*/Companies/query", page([company(1)], "https://evil.example/next"))

    with pytest.raises(ConnectorConfigError):
        make_connector(api).get_companies([1, 2])

    assert all(r.url.host != "evil.example" for r in api.requests)


def test_in_filters_are_sent_in_batches_of_at_most_500_distinct_ids() -> None:
    api = ApiDouble()
    api.on("POST", r".*/Companies/query", page([], None))
    ids = [*range(1, 1202), 5, 6]

    make_connector(api).get_companies(ids)

    filters = [body["filter"] for body in api.bodies()[1:]]
    assert [len(f[0]["value"]) for f in filters] == [500, 500, 201]
    assert all(f[0]["op"] == "in" and f[0]["field"] == "id" for f in filters)
    assert sorted(v for f in filters for v in f[0]["value"]) == list(range(1, 1202))


def test_query_body_always_has_a_filter_and_bounds_max_records() -> None:
    assert query.query_body([]) == {"filter": [{"op": "gte", "field": "id", "value": 0}]}
    with pytest.raises(ValueError):
        query.query_body([], max_records=501)
    with pytest.raises(ValueError):
        query.in_("id", list(range(501)))


def test_reference_refresh_costs_one_request_once_zone_and_note_metadata_are_known() -> None:
    api = ApiDouble()
    api.on("GET", r".*/Tickets/entityInformation/fields", FIELDS_OK)
    api.on("GET", r".*/TicketNotes/entityInformation/fields", NOTES_OK)
    connector = make_connector(api)

    first = connector.reference_data()
    before = len(api.requests)
    second = connector.reference_data()

    assert before == 3  # zone, Tickets fields, TicketNotes fields
    assert api.paths()[before:] == ["GET /ATServicesRest/V1.0/Tickets/entityInformation/fields"]
    assert first.queues == second.queues
    assert second.fetched_at is not None


def test_picklists_are_normalised_with_inactive_values_kept_and_marked() -> None:
    api = ApiDouble()
    api.on("GET", r".*/Tickets/entityInformation/fields", FIELDS_OK)
    api.on("GET", r".*/TicketNotes/entityInformation/fields", NOTES_OK)

    ref = make_connector(api).reference_data()

    assert ref.queues == (
        PicklistValue(29683483, "Monitoring", True, False, 1),
        PicklistValue(29683482, "Helpdesk", True, True, 2),
        PicklistValue(29683484, "Retired", False, False, 3),
    )
    assert [p.id for p in ref.priorities] == [1, 2]  # the non-numeric value is skipped
    assert [p.name for p in ref.publish_values][1] == "Internal Users"
    assert ref.note_types[0].is_default


def test_non_picklist_fields_give_empty_lists() -> None:
    fields = index_fields(
        {"fields": [{"name": "title", "isPickList": False, "picklistValues": None}]}
    )

    assert picklist(fields, "title") == () and picklist(fields, "queueID") == ()


def test_check_names_the_failing_step_when_credentials_are_refused() -> None:
    api = ApiDouble()
    api.on("GET", r".*/Tickets/entityInformation", errors(401, "Authentication failed"))

    result = make_connector(api).check()

    assert result.zone.ok and result.authenticated.ok is False
    assert result.reference_access.ok is None and not result.ok
    assert "credentials" in result.authenticated.message


def test_check_reports_missing_rights_hidden_in_a_500_as_reference_failure() -> None:
    api = ApiDouble()
    api.on("GET", r".*/Tickets/entityInformation", httpx.Response(200, json={"info": {}}))
    api.on(
        "GET",
        r".*/Tickets/entityInformation/fields",
        errors(500, "The logged in Resource does not have the adequate permissions"),
    )

    result = make_connector(api).check()

    assert result.authenticated.ok and result.reference_access.ok is False
    assert "permission" in result.reference_access.message


@pytest.mark.parametrize(
    ("answer", "error_class"),
    [
        (
            errors(
                500,
                "The logged in Resource does not have the adequate permissions"
                " to create this entity",
            ),
            ConnectorPermissionError,
        ),
        (errors(500, "IntegrationCode is invalid."), ConnectorAuthError),
        (errors(500, "Picklist value [3] does not exist for priority"), RemoteRejected),
        (
            errors(
                500,
                "No matching records found. The logged in Resource may not have"
                " the required permissions to delete the data.",
            ),
            RemoteNotFound,
        ),
        (httpx.Response(500, text="<html>Runtime Error</html>"), ConnectorUnavailable),
        (errors(500, "An unexpected error has occurred. Please try again."), ConnectorUnavailable),
        (errors(500, "thread threshold of 3 exceeded (Itgenatr005)"), ConnectorUnavailable),
    ],
)
def test_autotask_500_texts_map_to_the_right_error(
    answer: httpx.Response, error_class: type[Exception]
) -> None:
    api = ApiDouble()
    api.on("POST", r".*/TimeEntries/query/count", answer)

    with pytest.raises(error_class):
        make_connector(api).count_time_entries(1)


def test_create_sends_no_nulls_and_reads_the_ticket_back() -> None:
    api = ApiDouble()
    api.on("POST", r".*/V1.0/Tickets", httpx.Response(200, json={"itemId": 77}))
    api.on("GET", r".*/Tickets/entityInformation/fields", FIELDS_OK)
    item = {
        "id": 77,
        "ticketNumber": "T20260101.0001",
        "status": 1,
        "companyID": 5,
        "title": "t",
        "externalID": None,
        "lastActivityDate": "2026-01-01T10:00:00.123",
        "completedDate": None,
    }
    api.on("GET", r".*/Tickets/77", httpx.Response(200, json={"item": item}))

    ticket = make_connector(api).create_ticket(TicketDraft(company_id=5, title="t"))

    create_body = next(
        b for r, b in zip(api.requests, api.bodies(), strict=True) if r.method == "POST"
    )
    assert create_body == {"companyID": 5, "title": "t", "status": 1, "priority": 2}
    assert ticket.number == "T20260101.0001" and ticket.status_label == "New"
    assert ticket.last_activity is not None and ticket.last_activity.tzinfo is not None


def test_create_that_fails_on_the_server_is_not_repeated() -> None:
    api = ApiDouble()
    api.on("POST", r".*/V1.0/Tickets", httpx.Response(500, text=""))

    with pytest.raises(ConnectorUnavailable) as caught:
        make_connector(api).create_ticket(TicketDraft(5, "t", status_id=1, priority_id=2))

    assert caught.value.outcome_unknown
    assert [r.method for r in api.requests].count("POST") == 1


def test_failed_read_back_after_create_carries_the_new_id() -> None:
    api = ApiDouble()
    api.on("POST", r".*/V1.0/Tickets", httpx.Response(200, json={"itemId": 78}))
    api.on("GET", r".*/Tickets/78", httpx.Response(200, json={"item": None}))

    with pytest.raises(RemoteNotFound) as caught:
        make_connector(api).create_ticket(TicketDraft(5, "t", status_id=1, priority_id=2))

    assert caught.value.remote_id == 78


def test_internal_note_uses_the_internal_publish_value_and_the_default_note_type() -> None:
    api = ApiDouble()
    api.on("GET", r".*/TicketNotes/entityInformation/fields", NOTES_OK)
    api.on("POST", r".*/Tickets/9/Notes", httpx.Response(200, json={"itemId": 300}))

    note_id = make_connector(api).add_note(9, "Resolved.\nDetails follow.", internal=True)

    body = api.bodies()[-1]
    assert note_id == 300
    assert body == {
        "ticketID": 9,
        "title": "Resolved.",
        "description": "Resolved.\nDetails follow.",
        "noteType": 1,
        "publish": 2,
    }


def test_close_patches_the_collection_with_the_id_in_the_body() -> None:
    api = ApiDouble()
    api.on("PATCH", r".*/V1.0/Tickets", httpx.Response(200, json={"itemId": 9}))

    make_connector(api).close_ticket(9, 5)

    assert api.requests[-1].method == "PATCH" and api.requests[-1].url.path.endswith("/Tickets")
    assert json.loads(api.requests[-1].content) == {"id": 9, "status": 5}
