"""The Autotask side of the request governor: endpoint keys, the budget read, create timeouts."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.connectors.psa.autotask.double import (
    API,
    CODE,
    SECRET,
    TICKET_FIELDS,
    USER,
    ApiDouble,
    Sleeps,
)
from ticketbridge.connectors.errors import ConnectorUnavailable
from ticketbridge.connectors.governor import Governor
from ticketbridge.connectors.psa.autotask.client import endpoint_of
from ticketbridge.connectors.psa.autotask.connector import AutotaskConfig, AutotaskConnector
from ticketbridge.connectors.psa.base import TicketDraft
from ticketbridge.core.psa_governor import READ_EVERY_SECONDS, Priority

COMPANIES = {"items": [{"id": 5, "companyName": "Acme", "isActive": True}], "pageDetails": {}}


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def connector(
    api: ApiDouble, governor: Governor, priority: Priority = Priority.BACKGROUND, **config: Any
) -> AutotaskConnector:
    return AutotaskConnector(
        AutotaskConfig(username=USER, secret=SECRET, integration_code=CODE, **config),
        http_client=httpx.Client(transport=httpx.MockTransport(api), timeout=30.0),
        sleep=Sleeps(),
        governor=governor,
        priority=priority,
    )


@pytest.mark.parametrize(
    ("url", "endpoint"),
    [
        (f"{API}/Tickets", "tickets"),
        (f"{API}/Tickets/query", "tickets"),
        (f"{API}/Tickets/7/Notes", "tickets"),
        (f"{API}/tickets/query/next?paging=abc", "tickets"),
        (f"{API}/TimeEntries/query/count", "timeentries"),
        (f"{API}/ThresholdInformation", "thresholdinformation"),
        ("https://webservices.autotask.net/atservicesrest/v1.0/zoneInformation", "zoneinformation"),
        ("https://webservices.autotask.net/atservicesrest/versioninformation", None),
    ],
)
def test_requests_count_against_the_object_endpoint_after_v1(url: str, endpoint: str) -> None:
    assert endpoint_of(url) == endpoint


def test_the_zone_lookup_is_not_held_by_full_endpoints() -> None:
    api = ApiDouble()
    api.on("POST", r".*/Companies/query", httpx.Response(200, json=COMPANIES))
    governor = Governor()
    for _ in range(3):
        governor.acquire("tickets", Priority.OPERATOR, wait=0)

    found = connector(api, governor).get_companies([5])

    assert set(found) == {5}
    assert governor.state().load("companies").in_flight == 0


def test_a_low_budget_is_read_again_and_work_goes_on_once_autotask_reports_room() -> None:
    api = ApiDouble()
    api.on("POST", r".*/Companies/query", httpx.Response(200, json=COMPANIES))
    answers = [85, 40]
    api.on(
        "GET",
        r".*/V1.0/ThresholdInformation",
        lambda r: httpx.Response(
            200,
            json={
                "externalRequestThreshold": 100,
                "requestThresholdTimeframe": 60,
                "currentTimeframeRequestCount": answers.pop(0),
            },
        ),
    )
    clock = Clock()
    governor = Governor(clock=clock)
    clock.now += READ_EVERY_SECONDS
    psa = connector(api, governor)

    with pytest.raises(ConnectorUnavailable) as caught:
        psa.get_companies([5])
    clock.now += 60  # a refusing governor asks again after a minute
    found = psa.get_companies([5])

    assert caught.value.retry_after is not None and caught.value.retry_after >= 60
    assert set(found) == {5}
    assert [p for p in api.paths() if "zone" not in p] == [
        "GET /ATServicesRest/V1.0/ThresholdInformation",
        "GET /ATServicesRest/V1.0/ThresholdInformation",
        "POST /ATServicesRest/V1.0/Companies/query",
    ]
    assert governor.state().budget.used == 41


def test_a_failed_budget_read_does_not_fail_the_request_nor_repeat_on_the_next() -> None:
    api = ApiDouble()
    api.on("POST", r".*/Companies/query", httpx.Response(200, json=COMPANIES))
    api.on("GET", r".*/V1.0/ThresholdInformation", httpx.Response(200, json={"odd": True}))
    clock = Clock()
    governor = Governor(clock=clock)
    clock.now += READ_EVERY_SECONDS
    psa = connector(api, governor)

    psa.get_companies([5])
    psa.get_companies([5])

    reads = [p for p in api.paths() if p.endswith("ThresholdInformation")]
    assert len(reads) == 1
    assert not governor.state().budget.known


def test_a_ticket_create_gets_its_own_longer_timeout_and_reads_keep_the_clients() -> None:
    api = ApiDouble()
    api.on("POST", r".*/V1.0/Tickets", httpx.Response(200, json={"itemId": 77}))
    api.on("GET", r".*/Tickets/entityInformation/fields", httpx.Response(200, json=TICKET_FIELDS))
    item = {"id": 77, "ticketNumber": "T1", "status": 1, "companyID": 5, "title": "t"}
    api.on("GET", r".*/Tickets/77", httpx.Response(200, json={"item": item}))

    connector(api, Governor(), create_timeout_seconds=75).create_ticket(
        TicketDraft(5, "t", status_id=1, priority_id=2)
    )

    timeouts = {
        f"{r.method} {r.url.path}": r.extensions["timeout"]["read"]
        for r in api.requests
        if "zone" not in r.url.path
    }
    assert timeouts == {
        "POST /ATServicesRest/V1.0/Tickets": 75.0,
        "GET /ATServicesRest/V1.0/Tickets/77": 30.0,
        "GET /ATServicesRest/V1.0/Tickets/entityInformation/fields": 30.0,
    }
