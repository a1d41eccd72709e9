"""Ticket actions through the API and the pages (§4, §6, §6A, §6B, §8), against the emulator."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from tests.factories import add_runs, add_user, csrf_of, login
from tests.services.autotask_world import AutotaskWorld
from tests.services.tickets.support import (
    delete_ticket,
    emulator_tickets,
    log_time,
)
from ticketbridge.core.roles import Role
from ticketbridge.services.runtime import Runtime


def test_api_create_then_get_then_resolve(
    api: TestClient, db: sessionmaker[Session], world: AutotaskWorld
) -> None:
    [run_id] = add_runs(db, 1)

    created = api.post(f"/api/v1/runs/{run_id}/ticket")
    assert created.status_code == 201, created.text
    body = created.json()
    [ticket] = emulator_tickets(world)
    assert body["current"]["ticket_id"] == ticket["id"]
    assert body["current"]["ticket_number"] == ticket["ticketNumber"]
    assert body["actions"] == ["open", "resolve"]

    again = api.post(f"/api/v1/runs/{run_id}/ticket")
    assert again.status_code == 409
    assert again.json()["error"]["message"] == "This run already has a ticket."

    log_time(world, ticket["id"])
    resolved = api.post(f"/api/v1/runs/{run_id}/ticket/resolve")
    assert resolved.status_code == 200
    assert resolved.json()["label"] == "Resolve requested, left open: 1 time entry"
    shown = api.get(f"/api/v1/runs/{run_id}/ticket").json()
    assert shown["current"]["state"] == "left_open_time_entries"
    assert shown["current"]["resolve_evidence"]["time_entries"] == 1


def test_api_errors_are_4xx_or_503_never_500(
    api: TestClient, db: sessionmaker[Session], world: AutotaskWorld
) -> None:
    [run_id] = add_runs(db, 1)
    [unmapped] = add_runs(db, 1, customer="Unmapped Ltd")

    assert api.post(f"/api/v1/runs/{unmapped}/ticket").status_code == 422
    assert api.post(f"/api/v1/runs/{run_id}/ticket/resolve").status_code == 409
    bad = api.post(f"/api/v1/runs/{run_id}/ticket/link", json={"ticket_number": "T1999"})
    assert bad.status_code == 422 and "no ticket" in bad.json()["error"]["message"]
    assert api.post("/api/v1/runs/999999/ticket").status_code == 404
    world.fault(kind="status", status=503, retry_after=0, count=None)
    down = api.post(f"/api/v1/runs/{run_id}/ticket")
    assert down.status_code == 503
    assert down.json()["error"]["code"] == "unavailable"


def test_api_link_existing_and_manual_number(
    api: TestClient, db: sessionmaker[Session], ready: Runtime
) -> None:
    first, second = add_runs(db, 2)
    number = api.post(f"/api/v1/runs/{first}/ticket").json()["current"]["ticket_number"]

    manual = api.post(f"/api/v1/runs/{second}/ticket/manual", json={"ticket_number": "X-1"})
    assert manual.status_code == 409  # compatibility mode is off
    linked = api.post(f"/api/v1/runs/{second}/ticket/link", json={"ticket_number": number})
    assert linked.status_code == 200
    assert linked.json()["current"]["origin"] == "linked"


def _page_client(app: FastAPI, db: sessionmaker[Session], role: Role) -> TestClient:
    add_user(db, f"u-{role.value}", role)
    client = TestClient(app)
    assert login(client, f"u-{role.value}").status_code == 303
    return client


def test_run_checks_row_creates_and_resolves_a_ticket(
    app: FastAPI, db: sessionmaker[Session], ready: Runtime, world: AutotaskWorld
) -> None:
    [run_id] = add_runs(db, 1)
    with _page_client(app, db, Role.OPERATOR) as client:
        page = client.get("/run-checks").text
        # Create asks once: the row leads to the preview page, whose button sends it.
        assert f'href="/runs/{run_id}/ticket/create' in page
        preview = client.get(f"/runs/{run_id}/ticket/create?return_to=/run-checks").text
        assert "Create ticket for this run" in preview and not emulator_tickets(world)
        assert 'name="return_to" value="/run-checks"' in preview
        done = client.post(
            f"/runs/{run_id}/ticket/create",
            data={"csrf_token": csrf_of(preview), "return_to": "/run-checks"},
        )
        [ticket] = emulator_tickets(world)
        assert ticket["ticketNumber"] in done.text and "created" in done.text
        # The message stands in the row acted on, not at the top of a long page.
        cell = done.text.split(f'id="ticket-{run_id}"', 1)[1].split("</div>", 1)[0]
        assert "created" in cell and 'class="flash ok"' in cell
        assert done.text.count('class="flash') == 1
        assert f'form="ticket-{run_id}-resolve"' in done.text
        resolved = client.post(
            f"/runs/{run_id}/ticket/resolve",
            data={"csrf_token": csrf_of(done.text), "return_to": "/run-checks"},
        )
        assert "resolved and set to Complete" in resolved.text
        run_page = client.get(f"/jobs/1/runs/{run_id}").text
        assert "Resolved" in run_page and ticket["ticketNumber"] in run_page


def test_reporters_see_number_and_link_but_no_actions(
    app: FastAPI, db: sessionmaker[Session], ready: Runtime, api: TestClient
) -> None:
    [run_id] = add_runs(db, 1)
    created = api.post(f"/api/v1/runs/{run_id}/ticket").json()["current"]
    with _page_client(app, db, Role.REPORTER) as client:
        page = client.get("/run-checks?reviewed=all").text
        assert created["ticket_number"] in page
        assert created["ticket_url"].replace("&", "&amp;") in page
        assert "Resolve ticket" not in page and "Create Autotask ticket" not in page
        refused = client.post(f"/runs/{run_id}/ticket/resolve", data={"csrf_token": csrf_of(page)})
        assert refused.status_code == 403


def test_deleted_ticket_shows_create_new_on_the_run_page(
    app: FastAPI, db: sessionmaker[Session], ready: Runtime, world: AutotaskWorld
) -> None:
    from tests.services.tickets.support import Clock

    clock = Clock()
    ready.clock = clock
    [run_id] = add_runs(db, 1)
    with _page_client(app, db, Role.OPERATOR) as client:
        page = client.get(f"/jobs/1/runs/{run_id}").text
        client.post(f"/runs/{run_id}/ticket/create", data={"csrf_token": csrf_of(page)})
        [ticket] = emulator_tickets(world)
        delete_ticket(world, ticket["id"])
        clock.advance(minutes=6)
        assert "checking again" in client.get(f"/jobs/1/runs/{run_id}").text
        clock.advance(minutes=1)
        page = client.get(f"/jobs/1/runs/{run_id}").text
        assert "Deleted in Autotask" in page and "Create new Autotask ticket" in page
        assert "Resolve ticket" not in page
        opened = client.get(f"/runs/{run_id}/ticket/open", follow_redirects=False)
        assert opened.status_code == 303 and opened.headers["location"].startswith("/jobs/")
