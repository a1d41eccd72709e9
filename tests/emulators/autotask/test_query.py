"""Checklist item 4: query, count, operators, limits, paging."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest

from .conftest import Api, errors

ALL = {"op": "gte", "field": "id", "value": 0}


def _names(api: Api, *filters: dict[str, Any]) -> set[str]:
    response = api.query("Companies", *filters)
    assert response.status_code == 200, response.text
    return {item["companyName"] for item in response.json()["items"]}


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"op": "eq", "field": "companyName", "value": "granite legal"}, {"Granite Legal"}),
        (
            {"op": "beginsWith", "field": "companyName", "value": "Harbor"},
            {"Harbor Marine Supply Co."},
        ),
        (
            {"op": "endsWith", "field": "companyName", "value": "district"},
            {"Evergreen School District"},
        ),
        (
            {"op": "contains", "field": "companyName", "value": "FREIGHT"},
            {"Delta Freight Partners"},
        ),
        ({"op": "eq", "field": "isActive", "value": False}, {"Old Oak Insurance"}),
        (
            {"op": "in", "field": "id", "value": [101, 102]},
            {"Acme Logistics Inc.", "Brightwater Dental"},
        ),
        ({"op": "lte", "field": "id", "value": 0}, {"TicketBridge Demo MSP"}),
        (
            {"op": "lt", "field": "id", "value": 102},
            {"TicketBridge Demo MSP", "Acme Logistics Inc."},
        ),
    ],
)
def test_comparison_operators(api: Api, condition: dict[str, Any], expected: set[str]) -> None:
    assert _names(api, condition) == expected


def test_negative_and_existence_operators(api: Api) -> None:
    everyone = _names(api, ALL)
    assert _names(api, {"op": "noteq", "field": "id", "value": 0}) == everyone - {
        "TicketBridge Demo MSP"
    }
    assert _names(api, {"op": "notIn", "field": "id", "value": [0]}) == everyone - {
        "TicketBridge Demo MSP"
    }
    assert _names(api, {"op": "exist", "field": "id"}) == everyone
    assert _names(api, {"op": "notExist", "field": "parentCompanyID"}) == everyone
    assert _names(api, {"op": "exist", "field": "parentCompanyID"}) == set()
    assert _names(api, {"op": "gt", "field": "id", "value": 200}) == set()


def test_and_or_nesting(api: Api) -> None:
    tree = {
        "op": "or",
        "items": [
            {"op": "eq", "field": "id", "value": 0},
            {
                "op": "and",
                "items": [
                    {"op": "beginsWith", "field": "companyName", "value": "a"},
                    {"op": "eq", "field": "isActive", "value": True},
                ],
            },
        ],
    }
    assert _names(api, tree) == {"TicketBridge Demo MSP", "Acme Logistics Inc."}


def test_keys_and_field_names_are_case_insensitive(api: Api) -> None:
    response = api.post(
        "/Companies/query",
        {
            "Filter": [{"Op": "EQ", "Field": "COMPANYNAME", "Value": "Granite Legal"}],
            "MAXRECORDS": 5,
            "includefields": ["CompanyName"],
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["items"] == [
        {
            "id": 107,
            "companyName": "Granite Legal",
            "userDefinedFields": [{"name": "Customer Ranking", "value": None}],
        }
    ]


def test_unknown_field_is_the_real_500(api: Api) -> None:
    response = api.query("Companies", {"op": "eq", "field": "colour", "value": "x"})
    assert response.status_code == 500
    assert errors(response) == ["Unable to find colour in the Companies Entity"]


def test_picklist_label_instead_of_id_is_a_conversion_error(api: Api) -> None:
    response = api.query("Tickets", {"op": "eq", "field": "status", "value": "Complete"})
    assert response.status_code == 500
    assert (
        "Conversion failed when converting varchar 'Complete' to data type int"
        in errors(response)[0]
    )


@pytest.mark.parametrize("max_records", [0, 501, -1])
def test_max_records_outside_1_to_500_is_refused(api: Api, max_records: int) -> None:
    response = api.query("Companies", ALL, MaxRecords=max_records)
    assert response.status_code == 500
    assert errors(response) == ["maxCountOfRecordsToReturn must be between 1 and 500"]


def test_only_one_udf_condition(api: Api) -> None:
    udf = {"op": "exist", "field": "TicketBridge Key", "udf": True}
    assert api.query("Tickets", udf).status_code == 200
    response = api.query("Tickets", udf, {**udf, "field": "Backup Job"})
    assert response.status_code == 500


def test_udf_condition_matches_udf_values(api: Api) -> None:
    ticket_id = api.create_ticket(userDefinedFields=[{"name": "TicketBridge Key", "value": "k-1"}])
    assert api.ids(
        "Tickets", {"op": "eq", "field": "ticketbridge key", "udf": True, "value": "K-1"}
    ) == [ticket_id]


def test_at_most_500_or_conditions(api: Api) -> None:
    ok = {"op": "in", "field": "id", "value": list(range(500))}
    assert api.query("Companies", ok).status_code == 200
    too_many = {"op": "or", "items": [{"op": "eq", "field": "id", "value": i} for i in range(501)]}
    response = api.query("Companies", too_many)
    assert response.status_code == 500
    assert "500 or fewer 'OR' conditions" in errors(response)[0]


def test_missing_filter_is_refused(api: Api) -> None:
    assert api.post("/Companies/query", {}).status_code == 500


def test_non_queryable_field_is_refused(api: Api) -> None:
    assert api.query("Tickets", {"op": "eq", "field": "creatorType", "value": 1}).status_code == 500


def test_count(api: Api) -> None:
    response = api.post("/Companies/query/count", {"filter": [ALL]})
    assert response.json() == {"queryCount": 14}
    get = api.get("/Companies/query/count", params={"search": json.dumps({"filter": [ALL]})})
    assert get.json() == {"queryCount": 14}


def test_get_search_form(api: Api) -> None:
    search = json.dumps({"filter": [{"op": "eq", "field": "id", "value": 0}]})
    response = api.get("/Companies/query", params={"search": search})
    assert [i["id"] for i in response.json()["items"]] == [0]


def test_over_long_get_url_is_404(api: Api) -> None:
    search = json.dumps({"filter": [{"op": "in", "field": "id", "value": list(range(600))}]})
    assert api.get("/Companies/query", params={"search": search}).status_code == 404


def test_paging_follows_next_with_the_same_method_and_body(api: Api) -> None:
    body = {"filter": [ALL], "MaxRecords": 5}
    seen: list[int] = []
    response = api.post("/Companies/query", body)
    pages = 0
    while True:
        page = response.json()
        assert page["pageDetails"]["count"] == len(page["items"])
        assert page["pageDetails"]["requestCount"] == 5
        seen += [i["id"] for i in page["items"]]
        pages += 1
        nxt = page["pageDetails"]["nextPageUrl"]
        if not nxt:
            break
        assert "/query/next?paging=" in nxt
        assert api.client.get(nxt, headers=api.headers).json() == {
            "Message": "The requested resource does not support http method 'GET'."
        }
        assert api.client.get(nxt, headers=api.headers).status_code == 405
        response = api.client.post(nxt, json=body, headers=api.headers)
    assert pages == 3
    assert seen == sorted(seen) and len(seen) == 14


def test_get_paging_carries_the_search(api: Api) -> None:
    search = quote(json.dumps({"filter": [ALL], "maxRecords": 10}))
    first = api.client.get(
        f"/atservicesrest/v1.0/Companies/query?search={search}", headers=api.headers
    ).json()
    second = api.client.get(first["pageDetails"]["nextPageUrl"], headers=api.headers)
    assert second.status_code == 200
    assert len(second.json()["items"]) == 4
    assert second.json()["pageDetails"]["prevPageUrl"]


def test_empty_result_shape(api: Api) -> None:
    response = api.query("Companies", {"op": "eq", "field": "id", "value": 999})
    assert response.json() == {
        "items": [],
        "pageDetails": {"count": 0, "requestCount": 500, "prevPageUrl": None, "nextPageUrl": None},
    }


def test_date_comparison(api: Api) -> None:
    old = api.ids("Tickets", {"op": "lt", "field": "createDate", "value": "2026-03-02T00:00:00Z"})
    new = api.create_ticket()
    later = api.ids("Tickets", {"op": "gte", "field": "createDate", "value": "2026-03-02T14:00:00"})
    assert new in later and new not in old and old
    bad = api.query("Tickets", {"op": "gt", "field": "createDate", "value": "yesterday"})
    assert bad.status_code == 500
