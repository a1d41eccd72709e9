"""/hooks end to end: the Autotask emulator sends callouts and webhooks to the product's web
app, which answers as Autotask needs (200 stored, 401 refused, 400 unreadable, 404 unknown)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from tests.factories import add_runs
from tests.services.roundtrip.support import (
    TARA,
    HookWorld,
    hook_requests,
    make_callout,
    new_ticket,
    to_app,
)
from tests.services.tickets.support import Clock, current, prepare
from ticketbridge.core.ticket_links import LinkState
from ticketbridge.services.roundtrip import apply, polling, webhooks
from ticketbridge.services.runtime import Runtime
from ticketbridge.settings import Settings
from ticketbridge.web.app import create_app

COMPLETE, IN_PROGRESS = 5, 8


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
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url="https://ticketbridge.example.com") as made:
        yield made


@pytest.fixture
def runtime(
    app: FastAPI, db: sessionmaker[Session], world: HookWorld, client: TestClient
) -> Runtime:
    made: Runtime = app.state.ctx
    world.attach(made)
    prepare(made, db)
    world.relay.target = to_app(client)
    return made


@pytest.fixture
def run_id(db: sessionmaker[Session], runtime: Runtime) -> int:
    [made] = add_runs(db, 1)
    return made


@pytest.fixture
def ticket_id(runtime: Runtime, run_id: int) -> int:
    return new_ticket(runtime, run_id)


@pytest.mark.parametrize(
    "options",
    [
        {"fmt": "name_value", "http_method": "POST"},
        {"fmt": "name_value", "http_method": "GET"},
        {"fmt": "soap", "method_name": "TicketClosed"},
        {"fmt": "xml_rpc", "method_name": "ticket.closed"},
    ],
    ids=["name-value-post", "name-value-get", "soap", "xml-rpc"],
)
def test_a_callout_in_each_format_closes_the_runs_ticket(
    runtime: Runtime,
    world: HookWorld,
    clock: Clock,
    run_id: int,
    ticket_id: int,
    options: dict[str, str],
) -> None:
    make_callout(runtime, world, **options)
    clock.advance(minutes=2)
    world.set_status(ticket_id, COMPLETE)
    world.deliver()

    assert world.relay.answers == [200]
    link = current(runtime, run_id)
    assert link is not None and link.state == LinkState.RESOLVED.value
    polling.fetch_hinted(runtime)
    link = current(runtime, run_id)
    assert link is not None and link.resolved_in_psa_by == TARA


def test_a_callout_has_its_ticket_read_at_once_not_at_the_next_minutes_job(
    app: FastAPI, runtime: Runtime, world: HookWorld, clock: Clock, run_id: int, ticket_id: int
) -> None:
    make_callout(runtime, world)
    clock.advance(minutes=2)
    world.set_status(ticket_id, COMPLETE)
    seen = len(world.requests())
    world.deliver()

    assert world.relay.answers == [200]
    assert app.state.prompt_fetch.settle(timeout=60)
    reads = [r for r in world.requests()[seen:] if "Tickets/query" in r["path"]]
    assert len(reads) == 1  # the ticket re-read, no job run
    link = current(runtime, run_id)
    assert link is not None and link.resolved_in_psa_by == TARA


def test_a_webhook_has_its_ticket_read_at_once(
    app: FastAPI, runtime: Runtime, world: HookWorld, clock: Clock, run_id: int, ticket_id: int
) -> None:
    assert webhooks.register(runtime, actor="admin").state == "ready"
    clock.advance(minutes=2)
    world.set_status(ticket_id, COMPLETE)
    world.deliver()

    assert world.relay.answers == [200]
    assert app.state.prompt_fetch.settle(timeout=60)
    link = current(runtime, run_id)
    assert link is not None and link.resolved_in_psa_by == TARA


def test_wrong_basic_credentials_get_401_with_a_challenge(
    runtime: Runtime, world: HookWorld, client: TestClient, run_id: int, ticket_id: int
) -> None:
    make_callout(runtime, world)
    response = client.post(
        "/hooks/autotask/callouts/autotask",
        content=f"id={ticket_id}&status=Complete&last_activity_datetime=2026-11-20T07:00:00-05:00",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        auth=("autotask", "guessed-password-123"),
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Basic")
    no_auth = client.get(f"/hooks/autotask/callouts/autotask?id={ticket_id}&status=Complete")
    assert no_auth.status_code == 401
    assert [r.outcome for r in hook_requests(runtime)] == ["rejected", "rejected"]
    link = current(runtime, run_id)
    assert link is not None and link.state == LinkState.ACTIVE.value


def test_answers_for_what_is_not_a_callout(
    runtime: Runtime, world: HookWorld, client: TestClient
) -> None:
    password = make_callout(runtime, world)
    auth = ("autotask", password)
    assert client.post("/hooks/autotask/callouts/nope", content=b"id=1").status_code == 404
    assert client.post("/hooks/autotask/callouts/bad%20name", content=b"id=1").status_code in (
        404,
        422,
    )
    unreadable = client.post(
        "/hooks/autotask/callouts/autotask",
        content=b"id=nope",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        auth=auth,
    )
    assert unreadable.status_code == 400
    unknown = client.get("/hooks/autotask/callouts/autotask?id=424242&status=New", auth=auth)
    assert unknown.status_code == 200
    assert [r.outcome for r in hook_requests(runtime)] == ["unreadable", "unknown_ticket"]


def test_webhook_events_through_the_app_checked_by_signature(
    runtime: Runtime,
    world: HookWorld,
    clock: Clock,
    client: TestClient,
    run_id: int,
    ticket_id: int,
) -> None:
    registration = webhooks.register(runtime, actor="admin")
    assert registration.state == "ready"
    clock.advance(minutes=2)
    world.set_status(ticket_id, COMPLETE)
    world.deliver()
    assert world.relay.answers == [200]
    link = current(runtime, run_id)
    assert link is not None and link.state == LinkState.RESOLVED.value

    # Replayed with a body changed on the way: refused, nothing applied.
    sent = world.relay.requests[-1]
    forged = sent.content.replace(b'"Status":"5"', b'"Status":"8"')
    headers = {
        "X-Hook-Signature": sent.headers["x-hook-signature"],
        "Content-Type": "application/json",
    }
    answer = client.post(
        f"/hooks/autotask/webhooks/{registration.id}", content=forged, headers=headers
    )
    assert answer.status_code == 401
    unknown = client.post("/hooks/autotask/webhooks/999", content=sent.content, headers=headers)
    assert unknown.status_code == 404
    link = current(runtime, run_id)
    assert link is not None and link.state == LinkState.RESOLVED.value
