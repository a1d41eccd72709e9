"""The request governor's gauge: in the integration's JSON and on its settings page."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from tests.factories import add_token, add_user, login
from tests.services.autotask_world import AutotaskWorld, configure
from ticketbridge.connectors.governor import Governor
from ticketbridge.core.psa_governor import Priority
from ticketbridge.core.roles import Role
from ticketbridge.services.connections import active as active_connection
from ticketbridge.services.runtime import Runtime

URL = "/api/v1/integrations/autotask"
PAGE = "/admin/integrations/autotask"


@pytest.fixture
def runtime(app: FastAPI) -> Runtime:
    found: Runtime = app.state.ctx
    return found


@pytest.fixture
def world(runtime: Runtime) -> Iterator[AutotaskWorld]:
    made = AutotaskWorld()
    made.attach(runtime)
    yield made
    made.close()


@pytest.fixture
def api(app: FastAPI, db: sessionmaker[Session], world: AutotaskWorld) -> Iterator[TestClient]:
    token = add_token(db, Role.ADMIN)
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        yield client


def governor_of(runtime: Runtime) -> Governor:
    with runtime.session_factory() as session:
        ready = active_connection.connector_config(session, runtime.secret_box)
    return active_connection.governor(runtime, ready)


def test_the_gauge_is_null_while_the_integration_is_disabled(api: TestClient) -> None:
    assert api.get(URL).json()["usage"] is None


def test_the_gauge_counts_our_requests_until_autotask_is_asked(
    api: TestClient, runtime: Runtime, world: AutotaskWorld
) -> None:
    configure(runtime)
    assert api.post(f"{URL}/test").json()["ok"] is True

    usage = api.get(URL).json()["usage"]

    counted = [r for r in world.requests() if "zoneInformation" not in r["path"]]
    assert usage == {
        "requests_used": len(counted),
        "requests_limit": 10_000,
        "window_minutes": 60,
        "share": round(len(counted) / 10_000, 4),
        "known": False,
        "read_at": None,
        "counted_since_read": len(counted),
        "paused": [],
        "threads_per_endpoint": 3,
        "endpoints": [],
    }
    assert world.requests()[-1]["path"].endswith("/fields")  # reading the gauge sent nothing


def test_the_gauge_shows_autotasks_figure_what_is_held_back_and_the_slots_in_use(
    api: TestClient, runtime: Runtime
) -> None:
    configure(runtime)
    governor = governor_of(runtime)
    governor.note_threshold(limit=10_000, window_minutes=60, used=8_500)
    governor.acquire("tickets", Priority.OPERATOR, wait=0)

    usage = api.get(URL).json()["usage"]

    assert (usage["requests_used"], usage["share"], usage["known"]) == (8_501, 0.8501, True)
    assert usage["read_at"] is not None
    assert usage["paused"] == ["background"]
    assert usage["endpoints"] == [{"endpoint": "tickets", "in_flight": 1, "queued": 0}]


def test_the_settings_page_shows_the_gauge(
    app: FastAPI, db: sessionmaker[Session], runtime: Runtime, world: AutotaskWorld
) -> None:
    configure(runtime)
    governor = governor_of(runtime)
    governor.note_threshold(limit=10_000, window_minutes=60, used=9_200)
    governor.acquire("companies", Priority.OPERATOR, wait=0)
    add_user(db, "root", Role.ADMIN)

    with TestClient(app) as client:
        assert login(client, "root").status_code == 303
        html = client.get(PAGE).text

    section = html[html.index('id="request-budget"') :]
    assert "9,201 of 10,000 requests in the last 60 minutes" in section
    assert 'value="9201"' in section
    assert "Held back now: roundtrip, background requests." in section
    assert "<td>companies</td><td>1</td><td>0</td>" in section
