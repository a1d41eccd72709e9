"""Fixtures for the Jira emulator suite: a fixed clock, in-process clients, a loopback server."""

from __future__ import annotations

import base64
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import uvicorn
from starlette.testclient import TestClient

from ticketbridge.emulators.jira import DEMO_API_TOKEN, DEMO_EMAIL, DEMO_PAT, create_app

BASE = "https://jira.test"
CLOUD_AUTH = {
    "Authorization": "Basic " + base64.b64encode(f"{DEMO_EMAIL}:{DEMO_API_TOKEN}".encode()).decode()
}
DC_AUTH = {"Authorization": f"Bearer {DEMO_PAT}"}


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_client(clock: FakeClock) -> Iterator[Callable[..., TestClient]]:
    clients: list[TestClient] = []

    def make(*, auth: dict[str, str] | None = None, **options: Any) -> TestClient:
        options.setdefault("clock", clock)
        default = DC_AUTH if options.get("mode") == "dc" else CLOUD_AUTH
        client = TestClient(create_app(**options), base_url=BASE, headers=auth or default)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def cloud(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()


def serve(**options: Any) -> Iterator[str]:
    # Bind first so requests queue in the backlog until uvicorn accepts: no polling, no sleeps.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(**options), log_level="critical"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture
def cloud_url() -> Iterator[str]:
    yield from serve(mode="cloud")


@pytest.fixture
def dc_url() -> Iterator[str]:
    yield from serve(mode="dc")


def create_issue(client: TestClient, version: str = "2", **fields: Any) -> dict[str, Any]:
    body = {"project": {"key": "OPS"}, "issuetype": {"name": "Task"}, "summary": "Backup failed"}
    response = client.post(f"/rest/api/{version}/issue", json={"fields": body | fields})
    assert response.status_code == 201, response.text
    return dict(response.json())
