"""Searching tickets by run reference: one `externalID in [...]` query per 500 references."""

from __future__ import annotations

import json

import httpx

from tests.connectors.psa.autotask.double import TICKET_FIELDS, ApiDouble, make_connector


def _ticket(ticket_id: int, external_id: str) -> dict[str, object]:
    return {"id": ticket_id, "ticketNumber": f"T20261120.{ticket_id:04d}", "status": 1,
            "companyID": 102, "title": "Backup failed", "externalID": external_id}  # fmt: skip


def _answer(request: httpx.Request) -> httpx.Response:
    """Like Autotask: every ticket whose externalID is in the list, compared ignoring case."""
    wanted = {v.casefold() for v in json.loads(request.content)["filter"][0]["value"]}
    items = [
        _ticket(1000 + n, ref)
        for n, ref in enumerate(["run-7@tb", "RUN-7@TB", "run-9@tb", "run-7@tb"])
        if ref.casefold() in wanted
    ]
    return httpx.Response(200, json={"items": items, "pageDetails": {"nextPageUrl": None}})


def test_references_are_searched_in_batches_of_at_most_500_distinct_values() -> None:
    api = ApiDouble()
    api.on("POST", r".*/Tickets/query", httpx.Response(200, json={"items": [], "pageDetails": {}}))
    references = [f"run-{n}@tb" for n in range(1, 1202)] + ["run-5@tb"]

    found = make_connector(api).find_tickets_by_references(references)

    filters = [body["filter"] for body in api.bodies()[1:]]
    assert [len(f[0]["value"]) for f in filters] == [500, 500, 201]
    assert all(f[0]["op"] == "in" and f[0]["field"] == "externalID" for f in filters)
    assert sorted(found) == sorted(set(references)) and not any(found.values())


def test_reference_search_keeps_exact_matches_oldest_first() -> None:
    api = ApiDouble()
    api.on("GET", r".*/Tickets/entityInformation/fields", httpx.Response(200, json=TICKET_FIELDS))
    api.on("POST", r".*/Tickets/query", _answer)

    found = make_connector(api).find_tickets_by_references(["run-7@tb", "run-8@tb"])

    assert [t.id for t in found["run-7@tb"]] == [1000, 1003]
    assert found["run-8@tb"] == []
    assert "run-9@tb" not in found


def test_no_references_send_no_request() -> None:
    api = ApiDouble()

    assert make_connector(api).find_tickets_by_references([]) == {}
    assert api.requests == []
