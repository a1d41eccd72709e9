"""The request governor across threads: slots per endpoint, priorities, the hour's budget.

The thread-limit test serves the Autotask emulator on a real loopback port, so requests really
overlap; the emulator holds every Tickets request until the test has seen the queue fill, and
counts the most requests it ever had in flight per endpoint. No test waits on time: threads are
watched through ``Governor.wait_for`` and released by events.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import anyio.to_thread
import httpx
import pytest
import uvicorn

from ticketbridge.connectors.errors import ConnectorUnavailable
from ticketbridge.connectors.governor import Governor, GovernorState
from ticketbridge.connectors.psa.autotask.client import AutotaskCache
from ticketbridge.connectors.psa.autotask.connector import AutotaskConfig, AutotaskConnector
from ticketbridge.core.psa_governor import Priority
from ticketbridge.emulators.autotask import (
    DEMO_API_SECRET,
    DEMO_API_USER,
    DEMO_INTEGRATION_CODE,
    InProcessTransport,
    create_app,
)

OPERATOR, ROUNDTRIP, BACKGROUND = Priority.OPERATOR, Priority.ROUNDTRIP, Priority.BACKGROUND
WATCH = 30.0  # upper bound for a broken test to fail instead of hanging; never reached when green
COMPANY_ID = 101  # seeded by the demo data


def config(host: str) -> AutotaskConfig:
    return AutotaskConfig(
        environment="custom",
        api_host=host,
        username=DEMO_API_USER,
        secret=DEMO_API_SECRET,
        integration_code=DEMO_INTEGRATION_CODE,
    )


def tickets(state: GovernorState) -> tuple[int, int]:
    load = state.load("tickets")
    return load.in_flight, load.queued


def companies(state: GovernorState) -> tuple[int, int]:
    load = state.load("companies")
    return load.in_flight, load.queued


# --- slots and priorities, on the governor itself --------------------------------------------


def test_a_request_that_cannot_get_a_slot_within_its_timeout_is_refused_not_hung() -> None:
    governor = Governor()
    for _ in range(3):
        governor.acquire("tickets", OPERATOR, wait=0)

    with pytest.raises(ConnectorUnavailable, match="3 request slots for tickets") as caught:
        governor.acquire("tickets", OPERATOR, wait=0)

    assert caught.value.retryable
    assert tickets(governor.state()) == (3, 0)
    governor.acquire("companies", BACKGROUND, wait=0)  # another endpoint has its own slots


def test_an_operator_request_queued_after_background_ones_goes_first() -> None:
    governor = Governor()
    for _ in range(3):
        governor.acquire("tickets", BACKGROUND, wait=0)
    order: list[str] = []

    def queue(name: str, priority: Priority) -> threading.Thread:
        def take() -> None:
            governor.acquire("tickets", priority, wait=WATCH)
            order.append(name)

        thread = threading.Thread(target=take, daemon=True)
        thread.start()
        return thread

    first = queue("background 1", BACKGROUND)
    assert governor.wait_for(lambda s: tickets(s) == (3, 1), WATCH)
    second = queue("background 2", BACKGROUND)
    assert governor.wait_for(lambda s: tickets(s) == (3, 2), WATCH)
    operator = queue("operator", OPERATOR)
    assert governor.wait_for(lambda s: tickets(s) == (3, 3), WATCH)

    for thread in (operator, first, second):
        governor.release("tickets")
        thread.join(WATCH)

    assert order == ["operator", "background 1", "background 2"]
    assert tickets(governor.state()) == (3, 0)


# --- the thread limit, counted by the emulator over a real socket ------------------------------


class Hold:
    """The emulator's sleep: requests given latency wait here, inside the emulator and so in
    flight, until released; ``three`` is set once three of them are waiting."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.three = threading.Event()
        self._held = 0
        self._lock = threading.Lock()

    async def __call__(self, seconds: float) -> None:
        with self._lock:
            self._held += 1
            if self._held >= 3:
                self.three.set()
        await anyio.to_thread.run_sync(self.release.wait)


@pytest.fixture
def hold() -> Hold:
    return Hold()


@pytest.fixture
def server(hold: Hold) -> Iterator[str]:
    # Bind first so that requests queue in the backlog until the server accepts: no polling.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    app = create_app(sleep=hold)
    server = uvicorn.Server(uvicorn.Config(app, log_level="critical", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        hold.release.set()
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def admin(url: str, method: str, path: str, body: Any = None) -> Any:
    response = httpx.request(method, f"{url}/_emulator/{path}", json=body, timeout=WATCH)
    assert response.is_success, response.text
    return response.json()


def thread_stats(url: str, endpoint: str) -> dict[str, Any]:
    [found] = [t for t in admin(url, "GET", "limits")["threads"] if t["endpoint"] == endpoint]
    return dict(found)


def test_the_governor_never_lets_a_4th_request_in_flight_to_one_endpoint(
    server: str, hold: Hold
) -> None:
    governor = Governor(clock=lambda: 0.0)  # no budget re-read during the test
    cache = AutotaskCache()

    def connector() -> AutotaskConnector:
        return AutotaskConnector(
            config(server), cache=cache, governor=governor, sleep=lambda s: None
        )

    with connector() as warm:  # the zone is cached: only Companies/query follows
        warm.get_companies([COMPANY_ID])
    admin(server, "PATCH", "limits", {"reset_threads": True})
    admin(server, "POST", "faults", {"kind": "latency", "seconds": 1, "count": None})

    def read_company() -> set[int]:
        with connector() as psa:
            return set(psa.get_companies([COMPANY_ID]))

    with ThreadPoolExecutor(max_workers=12) as pool:
        futures = [pool.submit(read_company) for _ in range(12)]
        filled = governor.wait_for(lambda s: companies(s) == (3, 9), WATCH)
        held = hold.three.wait(WATCH)
        at_emulator = thread_stats(server, "companies")
        hold.release.set()
        results = [f.result(timeout=WATCH) for f in futures]

    assert filled and held
    assert at_emulator["in_flight"] == 3
    assert results == [{COMPANY_ID}] * 12
    after = thread_stats(server, "companies")
    assert after["peak_in_flight"] == 3
    assert after["refused"] == 0
    assert companies(governor.state()) == (0, 0)


def test_the_emulator_counts_a_4th_concurrent_request_that_nobody_governs(
    server: str, hold: Hold
) -> None:
    """The check above can fail: without a governor the emulator sees (and refuses) a 4th."""
    admin(server, "POST", "faults", {"kind": "latency", "seconds": 1, "count": 3})
    url = f"{server}/ATServicesRest/V1.0/Companies/query"
    headers = {
        "UserName": DEMO_API_USER,
        "Secret": DEMO_API_SECRET,
        "ApiIntegrationCode": DEMO_INTEGRATION_CODE,
    }
    body = {"filter": [{"op": "eq", "field": "id", "value": COMPANY_ID}]}

    with httpx.Client(timeout=WATCH) as raw, ThreadPoolExecutor(max_workers=3) as pool:
        held: list[Future[httpx.Response]] = [
            pool.submit(raw.post, url, json=body, headers=headers) for _ in range(3)
        ]
        assert hold.three.wait(WATCH)
        fourth = raw.post(url, json=body, headers=headers)
        hold.release.set()
        assert [f.result(timeout=WATCH).status_code for f in held] == [200, 200, 200]

    assert "Itgenatr005" in fourth.text
    assert thread_stats(server, "companies") == {
        "integration_code": DEMO_INTEGRATION_CODE,
        "endpoint": "companies",
        "in_flight": 0,
        "peak_in_flight": 4,
        "refused": 1,
    }


# --- the hour's budget, read from the emulator's ThresholdInformation --------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_background_waits_when_the_budget_is_low_while_operator_actions_go() -> None:
    async def no_sleep(seconds: float) -> None:
        return None

    app = create_app(sleep=no_sleep)
    http = httpx.Client(transport=InProcessTransport(app), base_url="http://emulator.test")
    http.patch("/_emulator/limits", json={"threshold": 20})
    clock = Clock()
    governor = Governor(clock=clock)
    cache = AutotaskCache()

    def connector(priority: Priority) -> AutotaskConnector:
        return AutotaskConnector(
            config("http://emulator.test"),
            http_client=http,
            cache=cache,
            governor=governor,
            priority=priority,
            sleep=lambda s: None,
        )

    operator, roundtrip, background = (
        connector(OPERATOR),
        connector(ROUNDTRIP),
        connector(BACKGROUND),
    )
    for _ in range(15):
        operator.get_companies([101])
    clock.now += 300  # the budget is due to be read again
    sent_before = http.get("/_emulator/requests").json()["total"]

    with pytest.raises(ConnectorUnavailable, match="background requests wait") as caught:
        background.get_companies([101])

    log = http.get("/_emulator/requests", params={"since": sent_before}).json()["requests"]
    assert [r["path"] for r in log] == ["/ATServicesRest/V1.0/ThresholdInformation"]
    budget = governor.state().budget
    assert (budget.used, budget.limit, budget.known) == (16, 20, True)
    assert caught.value.retry_after is not None and caught.value.retry_after >= 60
    assert set(operator.get_companies([101])) == {101}
    assert set(roundtrip.get_companies([101])) == {101}
    assert governor.state().budget.used == 18
    http.close()
