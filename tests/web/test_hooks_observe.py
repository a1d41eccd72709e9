"""The callout receiver answers ahead of the app and its middlewares (web/app.py, web/hooks.py):
what those would have given a callout's answer it gives itself, the headers every answer
carries, an X-Request-ID and a line in the HTTP metrics, also when the receiver fails."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import Engine
from starlette.testclient import TestClient

from ticketbridge.services.roundtrip import Incoming
from ticketbridge.settings import Settings
from ticketbridge.web.app import create_app
from ticketbridge.web.security_headers import CONTENT_SECURITY_POLICY, HSTS

CALLOUT = "/hooks/autotask/callouts/autotask"
ROUTE = "/hooks/autotask/callouts/{name}"


def counted(method: str, status: int) -> float:
    labels = {"method": method, "route": ROUTE, "status": str(status)}
    return REGISTRY.get_sample_value("ticketbridge_http_requests_total", labels) or 0.0


@pytest.fixture(params=[False, True], ids=["http", "https-only"])
def secure(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


@pytest.fixture
def client(settings: Settings, engine: Engine, secure: bool) -> Iterator[TestClient]:
    app = create_app(settings.model_copy(update={"cookie_secure": secure}), engine=engine)
    with TestClient(app) as made:
        yield made


def test_a_refused_callout_carries_the_security_headers_and_a_request_id(
    client: TestClient, secure: bool
) -> None:
    before = counted("PUT", 405)

    answer = client.put(CALLOUT, content=b"id=1", headers={"X-Request-ID": "lb-callout-0042"})

    assert answer.status_code == 405 and answer.headers["allow"] == "GET, POST"
    assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"] == "same-origin"
    assert answer.headers.get("strict-transport-security") == (HSTS if secure else None)
    assert answer.headers["x-request-id"] == "lb-callout-0042"
    assert counted("PUT", 405) - before == 1


def test_a_callout_the_receiver_fails_on_is_a_plain_500_still_counted_and_marked(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(name: str, incoming: Incoming) -> None:
        raise RuntimeError("a bug in the hand-over")

    monkeypatch.setattr(client.app.callouts.writer, "answer", broken)  # type: ignore[attr-defined]
    before = counted("POST", 500)

    answer = client.post(CALLOUT, content=b"id=1")

    assert answer.status_code == 500 and answer.text == "Internal Server Error\n"
    assert answer.headers["x-frame-options"] == "DENY"
    assert len(answer.headers["x-request-id"]) == 32
    assert counted("POST", 500) - before == 1


def test_healthz_and_pages_keep_their_headers_and_request_ids(client: TestClient) -> None:
    # /healthz is matched before the routers now; the middlewares still wrap it.
    health = client.get("/healthz", headers={"X-Request-ID": "lb-health-0001"})
    login = client.get("/login")

    assert health.json() == {"status": "ok"}
    assert health.headers["x-request-id"] == "lb-health-0001"
    assert len(login.headers["x-request-id"]) == 32
    for answer in (health, login):
        assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert answer.headers["x-frame-options"] == "DENY"
