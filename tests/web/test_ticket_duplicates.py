"""Duplicate tickets in Autotask through the API and the pages (issue 9), against the emulator."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from tests.factories import add_runs, add_user, csrf_of, login
from tests.services.autotask_world import AutotaskWorld
from tests.services.tickets.duplicate_support import copy_behind_our_back
from tests.services.tickets.support import notes_of
from ticketbridge.core.roles import Role
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.tickets import duplicates as ticket_duplicates
from ticketbridge.services.tickets import store as ticket_store


@pytest.fixture
def duplicated(
    api: TestClient, db: sessionmaker[Session], ready: Runtime, world: AutotaskWorld
) -> tuple[int, dict[str, Any], int, str]:
    """A run with its ticket and a copy made behind our back, found by the sweep: the run's id
    and link, the copy's id and number."""
    [run_id] = add_runs(db, 1)
    link = api.post(f"/api/v1/runs/{run_id}/ticket").json()["current"]
    with ready.session_factory() as session:
        row = ticket_store.current(session, run_id)
        assert row is not None and row.reference
        reference = row.reference
    copy = copy_behind_our_back(world, reference)
    assert ticket_duplicates.sweep(ready).found == [run_id]
    return run_id, link, copy.id, copy.number


def test_api_shows_duplicates_and_applies_the_choice(
    api: TestClient, world: AutotaskWorld, duplicated: tuple[int, dict[str, Any], int, str]
) -> None:
    run_id, link, copy_id, copy_number = duplicated

    shown = api.get(f"/api/v1/runs/{run_id}/ticket/duplicates")
    assert shown.status_code == 200
    body = shown.json()
    assert [t["number"] for t in body["open"]["tickets"]] == [link["ticket_number"], copy_number]
    assert body["suggested_ticket_id"] == body["linked_ticket_id"] == link["ticket_id"]

    wrong = api.post(f"/api/v1/runs/{run_id}/ticket/duplicates/keep", json={"ticket_id": 1})
    assert wrong.status_code == 422
    assert wrong.json()["error"]["code"] == "invalid"

    kept = api.post(f"/api/v1/runs/{run_id}/ticket/duplicates/keep", json={"ticket_id": copy_id})
    assert kept.status_code == 200, kept.text
    body = kept.json()
    assert body["open"] is None and body["linked_ticket_id"] == copy_id
    assert body["history"][0]["resolution"] == "kept"
    assert body["history"][0]["noted_ticket_ids"] == [link["ticket_id"]]
    assert copy_number in body["message"]
    [note] = notes_of(world, link["ticket_id"])
    assert copy_number in note["description"]
    ticket = api.get(f"/api/v1/runs/{run_id}/ticket").json()
    assert ticket["current"]["ticket_id"] == copy_id

    again = api.post(f"/api/v1/runs/{run_id}/ticket/duplicates/keep", json={"ticket_id": copy_id})
    assert again.status_code == 409
    assert api.get("/api/v1/runs/999999/ticket/duplicates").status_code == 404


def test_api_keep_answers_503_when_autotask_is_down(
    api: TestClient, world: AutotaskWorld, duplicated: tuple[int, dict[str, Any], int, str]
) -> None:
    run_id, _, copy_id, _ = duplicated
    world.fault(kind="status", status=503, retry_after=0, count=None)

    down = api.post(f"/api/v1/runs/{run_id}/ticket/duplicates/keep", json={"ticket_id": copy_id})

    assert down.status_code == 503
    assert down.json()["error"]["code"] == "unavailable"


def _page_client(app: FastAPI, db: sessionmaker[Session], role: Role) -> TestClient:
    add_user(db, f"u-{role.value}", role)
    client = TestClient(app)
    assert login(client, f"u-{role.value}").status_code == 303
    return client


def test_run_page_and_run_checks_show_duplicates_and_the_operator_keeps_one(
    app: FastAPI,
    db: sessionmaker[Session],
    world: AutotaskWorld,
    duplicated: tuple[int, dict[str, Any], int, str],
) -> None:
    run_id, link, copy_id, copy_number = duplicated
    with _page_client(app, db, Role.OPERATOR) as client:
        checks = client.get("/run-checks?reviewed=all").text
        assert "duplicate tickets in Autotask" in checks
        assert f'href="/jobs/1/runs/{run_id}#duplicates"' in checks
        page = client.get(f"/jobs/1/runs/{run_id}").text
        assert "Duplicate tickets in Autotask" in page
        assert f"{link['ticket_number']}, {copy_number}" in page
        assert page.count("Keep this one") == 2

        done = client.post(
            f"/runs/{run_id}/ticket/duplicates/keep",
            data={"csrf_token": csrf_of(page), "ticket_id": str(copy_id)},
        )

        assert done.status_code == 200 and f"Autotask ticket {copy_number} kept" in done.text
        assert "Keep this one" not in done.text
        assert "duplicate tickets in Autotask" not in client.get("/run-checks?reviewed=all").text
    assert len(notes_of(world, link["ticket_id"])) == 1


def test_reporters_see_duplicates_but_cannot_choose(
    app: FastAPI, db: sessionmaker[Session], duplicated: tuple[int, dict[str, Any], int, str]
) -> None:
    run_id, _, copy_id, _ = duplicated
    with _page_client(app, db, Role.REPORTER) as client:
        page = client.get(f"/jobs/1/runs/{run_id}").text
        assert "Duplicate tickets in Autotask" in page and "Keep this one" not in page
        refused = client.post(
            f"/runs/{run_id}/ticket/duplicates/keep",
            data={"csrf_token": csrf_of(page), "ticket_id": str(copy_id)},
        )
        assert refused.status_code == 403
