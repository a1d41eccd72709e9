"""Request costs and failure handling, observed through the emulator's own request log."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.connectors.psa.autotask.double import Sleeps
from tests.contract.emulator_harness import AutotaskEmulatorHarness, emulator_connector
from ticketbridge.connectors.errors import ConnectorUnavailable, RemoteNotFound
from ticketbridge.connectors.psa.autotask.client import AutotaskCache
from ticketbridge.connectors.psa.autotask.connector import AutotaskConnector
from ticketbridge.connectors.psa.base import TicketDraft

QUEUE = 29682969  # "Backup Alerts" in the demo seed


@pytest.fixture
def world() -> Iterator[AutotaskEmulatorHarness]:
    harness = AutotaskEmulatorHarness()
    yield harness
    harness.close()


def draft(external_id: str) -> TicketDraft:
    return TicketDraft(
        101, "Backup failed", status_id=1, priority_id=2, queue_id=QUEUE, external_id=external_id
    )


def logged(world: AutotaskEmulatorHarness) -> list[dict[str, Any]]:
    requests: list[dict[str, Any]] = world.http.get("/_emulator/requests").json()["requests"]
    return requests


def forget_requests(world: AutotaskEmulatorHarness) -> None:
    world.http.delete("/_emulator/requests")


def fault(world: AutotaskEmulatorHarness, **spec: Any) -> None:
    response = world.http.post("/_emulator/faults", json=spec)
    assert response.status_code == 200, response.text


def connector(world: AutotaskEmulatorHarness, sleeps: Sleeps) -> AutotaskConnector:
    made = emulator_connector(world.http, cache=AutotaskCache())
    made.channel.sleep = sleeps
    return made


def test_reference_refresh_costs_one_request_once_the_zone_is_known(
    world: AutotaskEmulatorHarness,
) -> None:
    psa = world.connector
    psa.reference_data()
    forget_requests(world)

    ref = psa.reference_data()

    assert [(r["method"], r["path"]) for r in logged(world)] == [
        ("GET", "/ATServicesRest/V1.0/Tickets/entityInformation/fields")
    ]
    assert "Monitoring Alert" in {s.name for s in ref.sources}


def test_validating_a_thousand_mappings_costs_two_requests(world: AutotaskEmulatorHarness) -> None:
    psa = world.connector
    psa.reference_data()
    forget_requests(world)

    found = psa.get_companies([101, 102, *range(900_000, 900_998)])

    assert set(found) == {101, 102}
    assert len(logged(world)) == 2


def test_every_page_of_a_query_is_posted(world: AutotaskEmulatorHarness) -> None:
    tag = "Paging Probe"
    ids = {world.add_company(f"{tag} {n}") for n in range(5)}
    world.connector.client.zone()
    forget_requests(world)

    items = list(
        world.connector.client.query_all(
            "Companies", [{"op": "beginsWith", "field": "companyName", "value": tag}], page_size=2
        )
    )

    assert {i["id"] for i in items} == ids
    requests = logged(world)
    assert len(requests) == 3 and {r["method"] for r in requests} == {"POST"}
    assert all(r["path"].lower().endswith("/companies/query/next") for r in requests[1:])


def test_a_401_makes_the_connector_rediscover_the_zone_once(world: AutotaskEmulatorHarness) -> None:
    psa = connector(world, Sleeps())
    psa.get_companies([101])
    fault(world, kind="status", status=401, count=1, path_contains="Companies")
    forget_requests(world)

    assert list(psa.get_companies([101])) == [101]

    paths = [r["path"].lower() for r in logged(world)]
    assert paths == [
        "/atservicesrest/v1.0/companies/query",
        "/atservicesrest/v1.0/zoneinformation",
        "/atservicesrest/v1.0/companies/query",
    ]


def test_a_429_is_waited_out_as_retry_after_asks(world: AutotaskEmulatorHarness) -> None:
    sleeps = Sleeps()
    psa = connector(world, sleeps)
    psa.get_companies([101])
    fault(world, kind="status", status=429, retry_after=3, count=1, when="before_commit")

    assert list(psa.get_companies([101])) == [101]

    assert len(sleeps) == 1 and 3 <= sleeps[0] <= 3.3


def test_a_create_answered_500_is_not_repeated(world: AutotaskEmulatorHarness) -> None:
    psa = connector(world, Sleeps())
    psa.reference_data()
    fault(world, kind="status", status=500, count=1, methods=["POST"], path_contains="Tickets")
    forget_requests(world)

    with pytest.raises(ConnectorUnavailable) as caught:
        psa.create_ticket(draft("tb-run-42"))

    assert caught.value.outcome_unknown
    creates = [r for r in logged(world) if r["method"] == "POST"]
    assert [r["path"] for r in creates] == ["/ATServicesRest/V1.0/Tickets"]
    # Whether the emulator kept the write or not, there is never a second copy.
    assert len(psa.find_tickets(external_id="tb-run-42")) <= 1


def test_a_create_refused_with_429_before_commit_is_retried_into_exactly_one_ticket(
    world: AutotaskEmulatorHarness,
) -> None:
    psa = connector(world, Sleeps())
    psa.reference_data()
    fault(
        world,
        kind="status",
        status=429,
        retry_after=1,
        count=1,
        methods=["POST"],
        path_contains="Tickets",
        when="before_commit",
    )
    created = psa.create_ticket(draft("tb-run-43"))

    assert [t.id for t in psa.find_tickets(external_id="tb-run-43")] == [created.id]


def test_ticket_udfs_are_written_onto_an_existing_ticket_leaving_the_others(
    world: AutotaskEmulatorHarness,
) -> None:
    world.define_udf("tickets", "RMM Alert ID")
    world.define_udf("tickets", "RMM Ticket ID")
    psa = world.connector
    ticket = psa.create_ticket(draft("udf-join"))
    psa.set_ticket_udfs(ticket.id, [("RMM Alert ID", "8932")])
    psa.set_ticket_udfs(ticket.id, [("RMM Ticket ID", "RMM-77")])

    assert [t.id for t in psa.find_tickets_by_udf("RMM Alert ID", "8932")] == [ticket.id]
    assert [t.id for t in psa.find_tickets_by_udf("RMM Ticket ID", "RMM-77")] == [ticket.id]
    [patch, _] = [r for r in logged(world) if r["method"] == "PATCH"]
    assert patch["path"].endswith("/Tickets")


def test_ticket_udfs_of_a_ticket_gone_are_remote_not_found(
    world: AutotaskEmulatorHarness,
) -> None:
    world.define_udf("tickets", "RMM Alert ID")
    with pytest.raises(RemoteNotFound):
        world.connector.set_ticket_udfs(987654, [("RMM Alert ID", "8932")])
