"""The sync InProcessTransport serves the app without a portal thread."""

from __future__ import annotations

import httpx
import pytest

from ticketbridge.emulators.autotask import (
    DEMO_API_USER,
    EmulatedConnectionDrop,
    InProcessTransport,
    create_app,
)

from .conftest import API, HEADERS


def test_sync_client_over_in_process_transport() -> None:
    transport = InProcessTransport(create_app())
    with httpx.Client(transport=transport, base_url="http://emu.local:9000") as client:
        zone = client.get(f"{API}/zoneInformation", params={"user": DEMO_API_USER}).json()
        assert zone["url"] == "http://emu.local:9000/ATServicesRest/"
        response = client.post(
            f"{API}/Companies/query",
            headers=HEADERS,
            json={"filter": [{"op": "eq", "field": "id", "value": 0}]},
        )
        assert [i["id"] for i in response.json()["items"]] == [0]
        client.post("/_emulator/faults", json={"kind": "drop"})
        with pytest.raises(EmulatedConnectionDrop):
            client.post(
                f"{API}/Tickets",
                headers=HEADERS,
                json={"companyID": 101, "title": "t", "status": 1, "priority": 2, "queueID": 5},
            )


def test_threads_share_one_in_process_transport() -> None:
    from concurrent.futures import ThreadPoolExecutor

    transport = InProcessTransport(create_app())
    with httpx.Client(transport=transport, base_url="http://emu.local") as client:

        def zone(_: int) -> int:
            return client.get(f"{API}/zoneInformation", params={"user": DEMO_API_USER}).status_code

        with ThreadPoolExecutor(max_workers=8) as pool:
            codes = list(pool.map(zone, range(64)))
    assert codes == [200] * 64
