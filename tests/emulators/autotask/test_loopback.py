"""The emulator over a real loopback socket, as `ticketbridge emulate autotask` serves it."""

from __future__ import annotations

import httpx
import pytest

from ticketbridge.emulators.autotask import DEMO_API_USER

from .conftest import HEADERS


def test_zone_discovery_and_crud_over_loopback(server_url: str) -> None:
    with httpx.Client(timeout=10) as client:
        zone = client.get(
            f"{server_url}/atservicesrest/v1.0/zoneInformation", params={"user": DEMO_API_USER}
        ).json()
        assert zone["url"] == f"{server_url}/ATServicesRest/"
        created = client.post(
            zone["url"] + "V1.0/Tickets",
            headers=HEADERS,
            json={"companyID": 101, "title": "Over TCP", "status": 1, "priority": 2, "queueID": 5},
        )
        assert created.status_code == 200
        ticket = client.get(
            zone["url"] + f"V1.0/Tickets/{created.json()['itemId']}", headers=HEADERS
        ).json()["item"]
        assert ticket["title"] == "Over TCP"


def test_dropped_connection_over_loopback_after_commit(server_url: str) -> None:
    api = f"{server_url}/atservicesrest/v1.0"
    with httpx.Client(timeout=10) as client:
        client.post(f"{server_url}/_emulator/faults", json={"kind": "drop"})
        with pytest.raises(httpx.TransportError):
            client.post(
                f"{api}/Tickets",
                headers=HEADERS,
                json={
                    "companyID": 101,
                    "title": "Dropped",
                    "status": 1,
                    "priority": 2,
                    "queueID": 5,
                },
            )
    with httpx.Client(timeout=10) as client:
        found = client.post(
            f"{api}/Tickets/query",
            headers=HEADERS,
            json={"filter": [{"op": "eq", "field": "title", "value": "Dropped"}]},
        ).json()
        assert len(found["items"]) == 1
