"""The round trip's admin page and API: callouts with the URL to copy and a password shown
once, webhook registration, polling now, the requests received and replaying one."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from tests.factories import add_runs, add_token, add_user, csrf_of, login
from tests.services.roundtrip.support import HookWorld, hook_requests, new_ticket, to_app
from tests.services.tickets.support import Clock, current, prepare
from ticketbridge.core.roles import Role
from ticketbridge.core.ticket_links import LinkState
from ticketbridge.services.roundtrip import apply
from ticketbridge.services.runtime import Runtime
from ticketbridge.settings import Settings
from ticketbridge.web.app import create_app

PAGE = "/admin/integrations/autotask/round-trip"
BASE = "https://ticketbridge.example.com"


@pytest.fixture(autouse=True)
def fresh_status_lists() -> Iterator[None]:
    apply.forget_status_lists()
    yield
    apply.forget_status_lists()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def world(clock: Clock) -> Iterator[HookWorld]:
    made = HookWorld(clock)
    yield made
    made.close()


@pytest.fixture
def app(settings: Settings, engine: Engine, db: sessionmaker[Session], clock: Clock) -> FastAPI:
    return create_app(settings, engine=engine, clock=clock)


@pytest.fixture
def runtime(app: FastAPI, db: sessionmaker[Session], world: HookWorld) -> Runtime:
    made: Runtime = app.state.ctx
    world.attach(made)
    prepare(made, db)
    return made


@pytest.fixture
def browser(
    app: FastAPI, db: sessionmaker[Session], runtime: Runtime, world: HookWorld
) -> Iterator[TestClient]:
    add_user(db, "ada", Role.ADMIN)
    with TestClient(app, base_url=BASE) as client:
        world.relay.target = to_app(client)
        assert login(client, "ada").status_code == 303
        yield client


@pytest.fixture
def api(
    app: FastAPI, db: sessionmaker[Session], runtime: Runtime, world: HookWorld
) -> Iterator[TestClient]:
    token = add_token(db, Role.ADMIN)
    with TestClient(app, base_url=BASE, headers={"Authorization": f"Bearer {token}"}) as client:
        world.relay.target = to_app(client)
        yield client


def test_a_new_callout_shows_its_url_and_its_password_once(
    browser: TestClient, runtime: Runtime, world: HookWorld, db: sessionmaker[Session], clock: Clock
) -> None:
    csrf = csrf_of(browser.get(PAGE).text)
    page = browser.post(
        PAGE + "/callouts",
        data={"csrf_token": csrf, "name": "rmm", "username": "autotask", "format": "soap"},
    )
    assert page.status_code == 200
    password = re.search(r"Password for callout rmm: <code>([^<]+)</code>", page.text)
    assert password is not None
    assert f"{BASE}/hooks/autotask/callouts/rmm" in page.text
    again = browser.get(PAGE).text
    assert password.group(1) not in again and "rmm" in again

    # What the page says to enter in Autotask works.
    [run_id] = add_runs(db, 1)
    ticket_id = new_ticket(runtime, run_id)
    world.add_callout("rmm", password.group(1), format="soap", method_name="Closed")
    clock.advance(minutes=1)
    world.set_status(ticket_id, 5)
    world.deliver()
    link = current(runtime, run_id)
    assert link is not None and link.state == LinkState.RESOLVED.value

    listing = browser.get(PAGE + "/requests").text
    assert "applied" in listing
    [stored] = hook_requests(runtime, "callout")
    detail = browser.get(f"{PAGE}/requests/{stored.id}").text
    assert "soap:Envelope" in detail and "[not stored]" in detail
    replayed = browser.post(
        f"{PAGE}/requests/{stored.id}/replay", data={"csrf_token": csrf}, follow_redirects=True
    )
    assert "Replayed: duplicate." in replayed.text


def test_a_bad_callout_name_is_refused_with_the_reason(browser: TestClient) -> None:
    csrf = csrf_of(browser.get(PAGE).text)
    page = browser.post(PAGE + "/callouts", data={"csrf_token": csrf, "name": "Not OK!"})
    assert page.status_code == 422 and "lower-case letters" in page.text


def test_the_api_configures_callouts_registers_webhooks_and_polls(
    api: TestClient, runtime: Runtime, world: HookWorld, db: sessionmaker[Session], clock: Clock
) -> None:
    made = api.post("/api/v1/roundtrip/callouts", json={"name": "rmm"})
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["url"] == f"{BASE}/hooks/autotask/callouts/rmm" and len(body["password"]) >= 16
    assert api.post("/api/v1/roundtrip/callouts", json={"name": "rmm"}).status_code == 422
    rotated = api.patch(f"/api/v1/roundtrip/callouts/{body['id']}", json={"new_password": True})
    assert rotated.status_code == 200 and rotated.json()["password"] not in (None, body["password"])
    assert api.patch("/api/v1/roundtrip/callouts/99", json={}).status_code == 404

    [run_id] = add_runs(db, 1)
    new_ticket(runtime, run_id)
    webhook = api.post("/api/v1/roundtrip/webhooks", json={})
    assert webhook.status_code == 201 and webhook.json()["state"] == "ready"

    assert (
        api.put("/api/v1/roundtrip/settings", json={"review_on_complete": True}).status_code == 200
    )
    first = api.post("/api/v1/roundtrip/poll")
    assert first.status_code == 200 and first.json()["ok"]
    shown = api.get("/api/v1/roundtrip").json()
    assert shown["review_on_complete"] is True
    assert [c["name"] for c in shown["callouts"]] == ["rmm"]
    assert "password" not in shown["callouts"][0]
    assert shown["webhooks"][0]["state"] == "ready"
    assert shown["polls"][0]["ok"] is True and shown["watermark"] is not None
    assert api.get("/api/v1/roundtrip/requests").json() == []
    assert api.post("/api/v1/roundtrip/requests/5/replay").status_code == 404

    removed = api.delete(f"/api/v1/roundtrip/webhooks/{webhook.json()['id']}")
    assert removed.status_code == 200 and removed.json()["state"] == "removed"


def test_polling_now_while_disabled_sends_nothing(api: TestClient, runtime: Runtime) -> None:
    api.put("/api/v1/integrations/autotask", json={"enabled": False})
    answer = api.post("/api/v1/roundtrip/poll")
    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "conflict"
