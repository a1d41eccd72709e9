"""Checklist item 9: ThresholdInformation, added latency, 429, and the thread limit."""

from __future__ import annotations

from collections.abc import Callable

import anyio
import httpx
from starlette.testclient import TestClient

from ticketbridge.emulators.autotask import create_app

from .conftest import API, HEADERS, Api, FakeClock, Sleeps, errors


def test_threshold_information_counts_requests_including_itself(api: Api) -> None:
    api.get("/Companies/0")
    info = api.get("/ThresholdInformation").json()
    assert info == {
        "externalRequestThreshold": 10000,
        "requestThresholdTimeframe": 60,
        "currentTimeframeRequestCount": 2,
    }


def test_latency_past_half_and_three_quarters_then_429(
    make_client: Callable[..., TestClient], sleeps: Sleeps, clock: FakeClock
) -> None:
    client = make_client(speed=10.0)
    client.patch("/_emulator/limits", json={"threshold": 8})
    api = Api(client)
    statuses = [api.get("/Companies/0").status_code for _ in range(8)]
    assert statuses == [200] * 8
    assert sleeps.calls == [0.05, 0.05, 0.1, 0.1]
    refused = api.get("/Companies/0")
    assert refused.status_code == 429
    assert "threshold" in errors(refused)[0]
    assert refused.headers["Retry-After"] == "360"
    clock.advance(minutes=61)
    assert api.get("/Companies/0").status_code == 200


def test_discovery_is_not_counted(api: Api, client: TestClient) -> None:
    client.get(f"{API}/zoneInformation", params={"user": HEADERS["UserName"]})
    assert api.get("/ThresholdInformation").json()["currentTimeframeRequestCount"] == 1


class Gate:
    """A sleep that holds requests until released, so that they overlap."""

    def __init__(self) -> None:
        self.open = anyio.Event()
        self.waiting = 0

    async def __call__(self, seconds: float) -> None:
        self.waiting += 1
        await self.open.wait()


def test_three_concurrent_requests_per_endpoint() -> None:
    async def scenario() -> None:
        gate = Gate()
        app = create_app(sleep=gate)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://emu") as client:
            await client.post(
                "/_emulator/faults",
                json={"kind": "latency", "seconds": 1, "count": 3, "path_contains": "Companies"},
            )
            results: list[int] = []

            async def fetch() -> None:
                response = await client.get(f"{API}/Companies/0", headers=HEADERS)
                results.append(response.status_code)

            async with anyio.create_task_group() as group:
                for _ in range(3):
                    group.start_soon(fetch)
                while gate.waiting < 3:
                    await anyio.lowlevel.checkpoint()
                fourth = await client.get(f"{API}/Companies/0", headers=HEADERS)
                other = await client.get(f"{API}/Tickets/7001", headers=HEADERS)
                gate.open.set()
            assert fourth.status_code == 500
            assert "Itgenatr005" in fourth.json()["errors"][0]
            assert "thread threshold" in fourth.json()["errors"][0].lower()
            assert other.status_code == 200
            assert results == [200, 200, 200]
            after = await client.get(f"{API}/Companies/0", headers=HEADERS)
            assert after.status_code == 200

    anyio.run(scenario)
