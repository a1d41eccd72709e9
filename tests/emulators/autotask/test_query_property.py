"""Random filter trees return the rows a direct evaluation in Python selects."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from ticketbridge.emulators.autotask import create_app

from .conftest import BASE, Api

NAMES = ["acme", "Dental", "ENGINEERING", "co", "", "granite legal", "x", "Old Oak Insurance"]
TEXT_OPS = ["eq", "noteq", "gt", "gte", "lt", "lte", "beginsWith", "endsWith", "contains"]
NUM_OPS = ["eq", "noteq", "gt", "gte", "lt", "lte"]

leaf = st.one_of(
    st.builds(
        lambda op, v: {"op": op, "field": "companyName", "value": v},
        st.sampled_from(TEXT_OPS),
        st.sampled_from(NAMES),
    ),
    st.builds(
        lambda op, v: {"op": op, "field": "id", "value": v},
        st.sampled_from(NUM_OPS),
        st.integers(-1, 120),
    ),
    st.builds(
        lambda op, v: {"op": op, "field": "isActive", "value": v},
        st.sampled_from(["eq", "noteq"]),
        st.booleans(),
    ),
    st.builds(
        lambda op, v: {"op": op, "field": "companyType", "value": v},
        st.sampled_from(["in", "notIn"]),
        st.lists(st.integers(1, 7), max_size=4),
    ),
    st.builds(
        lambda op, f: {"op": op, "field": f},
        st.sampled_from(["exist", "notExist"]),
        st.sampled_from(["parentCompanyID", "companyName", "city"]),
    ),
)
trees = st.recursive(
    leaf,
    lambda children: st.builds(
        lambda op, items: {"op": op, "items": items},
        st.sampled_from(["and", "or"]),
        st.lists(children, min_size=1, max_size=4),
    ),
    max_leaves=12,
)


def _matches(node: dict[str, Any], row: dict[str, Any]) -> bool:
    op = node["op"]
    if op == "and":
        return all(_matches(n, row) for n in node["items"])
    if op == "or":
        return any(_matches(n, row) for n in node["items"])
    value = row.get(node["field"])
    if op == "exist":
        return value is not None
    if op == "notExist":
        return value is None
    if value is None:
        return False
    wanted = node["value"]
    if isinstance(value, str):
        value, wanted = value.lower(), str(wanted).lower()
    if op == "in":
        return value in wanted
    if op == "notIn":
        return value not in wanted
    return {
        "eq": lambda: value == wanted,
        "noteq": lambda: value != wanted,
        "gt": lambda: value > wanted,
        "gte": lambda: value >= wanted,
        "lt": lambda: value < wanted,
        "lte": lambda: value <= wanted,
        "beginsWith": lambda: value.startswith(wanted),
        "endsWith": lambda: value.endswith(wanted),
        "contains": lambda: wanted in value,
    }[op]()


@pytest.fixture(scope="module")
def companies() -> Iterator[tuple[Api, list[dict[str, Any]]]]:
    with TestClient(create_app(), base_url=BASE) as client:
        api = Api(client)
        rows = api.query("Companies", {"op": "gte", "field": "id", "value": -1}).json()["items"]
        yield api, rows


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(filters=st.lists(trees, min_size=1, max_size=3))
def test_random_filter_trees_match_direct_evaluation(
    companies: tuple[Api, list[dict[str, Any]]], filters: list[dict[str, Any]]
) -> None:
    api, rows = companies
    response = api.query("Companies", *filters)
    assert response.status_code == 200, response.text
    expected = [r["id"] for r in rows if all(_matches(f, r) for f in filters)]
    assert [item["id"] for item in response.json()["items"]] == expected
