"""Fault injection: answers, latency, dropped connections; deterministic under a seed."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from starlette.testclient import TestClient

from ticketbridge.emulators.autotask import EmulatedConnectionDrop

from .conftest import API, Api, Sleeps


def _ticket_count(api: Api) -> int:
    return len(api.ids("Tickets", {"op": "gte", "field": "id", "value": 0}))


@pytest.mark.parametrize("status", [401, 404, 429, 500, 503])
def test_next_n_requests_answer_the_injected_status(
    api: Api, client: TestClient, status: int
) -> None:
    client.post("/_emulator/faults", json={"kind": "status", "status": status, "count": 2})
    first, second, third = (api.get("/Companies/0") for _ in range(3))
    assert first.status_code == status and second.status_code == status
    assert third.status_code == 200
    if status in {429, 503}:
        assert first.headers["Retry-After"] == "1"


def test_status_fault_can_target_a_path_and_method(api: Api, client: TestClient) -> None:
    client.post(
        "/_emulator/faults",
        json={
            "kind": "status",
            "status": 500,
            "count": 1,
            "methods": ["POST"],
            "path_contains": "/Tickets",
        },
    )
    assert api.get("/Companies/0").status_code == 200
    assert api.post("/Tickets", {}).json() == {
        "errors": ["An unexpected error has occurred. Please try again."]
    }


def test_discovery_is_not_hit_by_untargeted_faults(client: TestClient) -> None:
    client.post("/_emulator/faults", json={"kind": "status", "status": 500})
    assert client.get("/atservicesrest/versioninformation").status_code == 200
    assert client.get("/_emulator/faults").json()["faults"]


def test_latency_uses_the_injected_sleep(api: Api, client: TestClient, sleeps: Sleeps) -> None:
    client.post("/_emulator/faults", json={"kind": "latency", "seconds": 2.5, "count": 1})
    api.get("/Companies/0")
    api.get("/Companies/0")
    assert sleeps.calls == [2.5]


def test_drop_before_commit_loses_the_write(api: Api, client: TestClient) -> None:
    before = _ticket_count(api)
    client.post("/_emulator/faults", json={"kind": "drop", "when": "before_commit"})
    with pytest.raises(httpx.ReadTimeout):
        api.create_ticket()
    assert _ticket_count(api) == before
    log = client.get(
        "/_emulator/requests", params={"method": "POST", "path_contains": "Tickets"}
    ).json()
    creates = [r for r in log["requests"] if r["path"].endswith("/Tickets")]
    assert [r["dropped"] for r in creates] == [True]


def test_drop_after_commit_keeps_the_write(api: Api, client: TestClient) -> None:
    before = _ticket_count(api)
    client.post("/_emulator/faults", json={"kind": "drop", "when": "after_commit"})
    with pytest.raises(EmulatedConnectionDrop) as caught:
        api.create_ticket(externalID="dup-check")
    assert caught.value.request.method == "POST"
    assert _ticket_count(api) == before + 1
    assert api.ids("Tickets", {"op": "eq", "field": "externalID", "value": "dup-check"})


def test_drops_skip_queries_by_default(api: Api, client: TestClient) -> None:
    client.post("/_emulator/faults", json={"kind": "drop", "count": 1})
    assert _ticket_count(api) > 0
    with pytest.raises(EmulatedConnectionDrop):
        api.create_ticket()


def _dropped_pattern(make_client: Callable[..., TestClient], seed: int) -> list[bool]:
    client = make_client(random_seed=seed)
    api = Api(client)
    client.post("/_emulator/faults", json={"kind": "drop", "probability": 0.3, "count": None})
    pattern = []
    for _ in range(30):
        try:
            api.create_ticket()
            pattern.append(False)
        except EmulatedConnectionDrop:
            pattern.append(True)
    return pattern


def test_probabilistic_drops_are_deterministic_under_a_seed(
    make_client: Callable[..., TestClient],
) -> None:
    first = _dropped_pattern(make_client, 7)
    again = _dropped_pattern(make_client, 7)
    other = _dropped_pattern(make_client, 8)
    assert first == again
    assert 3 <= sum(first) <= 18
    assert first != other


def test_clearing_faults(api: Api, client: TestClient) -> None:
    client.post(
        "/_emulator/faults", json={"faults": [{"kind": "status", "status": 500, "count": None}]}
    )
    assert api.get("/Companies/0").status_code == 500
    client.delete("/_emulator/faults")
    assert api.get("/Companies/0").status_code == 200


def test_bad_fault_spec_is_400(client: TestClient) -> None:
    assert client.post("/_emulator/faults", json={"kind": "meteor"}).status_code == 400
    assert client.post("/_emulator/faults", json={"kind": "status", "colour": 1}).status_code == 400


def test_in_process_async_client_sees_the_drop() -> None:
    import anyio

    from ticketbridge.emulators.autotask import create_app

    from .conftest import HEADERS

    async def scenario() -> None:
        app = create_app()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://emu") as client:
            await client.post("/_emulator/faults", json={"kind": "drop"})
            with pytest.raises(httpx.TimeoutException):
                await client.post(
                    f"{API}/Tickets",
                    headers=HEADERS,
                    json={"companyID": 101, "title": "t", "status": 1, "priority": 2, "queueID": 5},
                )

    anyio.run(scenario)


def test_status_after_commit_keeps_the_write_and_answers_the_error(
    api: Api, client: TestClient
) -> None:
    before = _ticket_count(api)
    client.post(
        "/_emulator/faults",
        json={"kind": "status", "status": 500, "when": "after_commit", "methods": ["POST"]},
    )
    response = api.post(
        "/Tickets",
        {"companyID": 101, "title": "t", "status": 1, "priority": 2, "queueID": 5,
         "externalID": "committed-then-500"},
    )  # fmt: skip
    assert response.status_code == 500
    assert _ticket_count(api) == before + 1
    assert api.ids("Tickets", {"op": "eq", "field": "externalID", "value": "committed-then-500"})


def test_status_faults_default_to_before_commit(api: Api, client: TestClient) -> None:
    before = _ticket_count(api)
    added = client.post("/_emulator/faults", json={"kind": "status", "status": 503}).json()
    assert added["faults"][0]["when"] == "before_commit"
    response = api.post(
        "/Tickets", {"companyID": 101, "title": "t", "status": 1, "priority": 2, "queueID": 5}
    )
    assert response.status_code == 503
    assert _ticket_count(api) == before
