"""Fixtures for the Autotask emulator suite: a fixed clock, the app, and an in-process client."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import uvicorn
from starlette.testclient import TestClient

from ticketbridge.emulators.autotask import (
    DEMO_API_SECRET,
    DEMO_API_USER,
    DEMO_INTEGRATION_CODE,
    create_app,
)

BASE = "https://emulator.test"
API = "/atservicesrest/v1.0"
HEADERS = {
    "UserName": DEMO_API_USER,
    "Secret": DEMO_API_SECRET,
    "ApiIntegrationCode": DEMO_INTEGRATION_CODE,
}


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class Sleeps:
    """Records requested delays instead of waiting."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 3, 2, 14, 30, tzinfo=UTC))


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def make_client(clock: FakeClock, sleeps: Sleeps) -> Iterator[Callable[..., TestClient]]:
    clients: list[TestClient] = []

    def make(**options: Any) -> TestClient:
        options.setdefault("clock", clock)
        options.setdefault("sleep", sleeps)
        client = TestClient(create_app(**options), base_url=BASE)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def server_url() -> Iterator[str]:
    # Bind first so that requests queue in the backlog until the server accepts: no polling.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(), log_level="critical", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()


class Api:
    """Thin helper: authenticated calls on the real namespace."""

    def __init__(self, client: TestClient, headers: dict[str, str] | None = None) -> None:
        self.client = client
        self.headers = dict(headers or HEADERS)

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get(API + path, headers=self.headers, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.client.post(API + path, json=body, headers=self.headers, **kw)

    def patch(self, path: str, body: Any) -> Any:
        return self.client.patch(API + path, json=body, headers=self.headers)

    def put(self, path: str, body: Any) -> Any:
        return self.client.put(API + path, json=body, headers=self.headers)

    def delete(self, path: str) -> Any:
        return self.client.delete(API + path, headers=self.headers)

    def query(self, entity: str, *filters: dict[str, Any], **model: Any) -> Any:
        return self.post(f"/{entity}/query", {"filter": list(filters), **model})

    def ids(self, entity: str, *filters: dict[str, Any]) -> list[int]:
        response = self.query(entity, *filters)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    def create_ticket(self, **fields: Any) -> int:
        body = {
            "companyID": 101,
            "title": "Backup failed",
            "status": 1,
            "priority": 2,
            "queueID": 29682833,
            **fields,
        }
        response = self.post("/Tickets", body)
        assert response.status_code == 200, response.text
        return int(response.json()["itemId"])

    def ticket(self, ticket_id: int) -> dict[str, Any]:
        response = self.get(f"/Tickets/{ticket_id}")
        assert response.status_code == 200, response.text
        return dict(response.json()["item"])


@pytest.fixture
def api(client: TestClient) -> Api:
    return Api(client)


def errors(response: Any) -> list[str]:
    return list(response.json()["errors"])
