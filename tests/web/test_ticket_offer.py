"""Create asked once with a preview, refused for Success runs without the setting, disabled for
unmapped customers; Link existing across companies (issue 11, item 3): the API and the pages
answer alike."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from tests.factories import NOW, add_runs, add_user, csrf_of, login
from tests.services.autotask_world import AutotaskWorld
from tests.services.tickets.support import BRIGHTWATER, emulator_tickets
from ticketbridge.core.roles import Role
from ticketbridge.core.statuses import RunStatus
from ticketbridge.services.connections import settings as integration_settings
from ticketbridge.services.runtime import Runtime


def _other_company_ticket(world: AutotaskWorld) -> dict[str, Any]:
    """A ticket of Acme Logistics Inc.: the runs' customer is mapped to Brightwater here."""
    store_ = world.transport.app.state.emulator.store  # type: ignore[attr-defined]
    return next(t for t in store_.tables["tickets"].values() if t["companyID"] != BRIGHTWATER)


def test_api_refuses_create_for_a_success_run_until_settings_allow_it(
    api: TestClient, db: sessionmaker[Session], ready: Runtime, world: AutotaskWorld
) -> None:
    [run_id] = add_runs(db, 1, status=RunStatus.SUCCESS)
    shown = api.get(f"/api/v1/runs/{run_id}/ticket").json()
    assert shown["actions"] == ["link_existing"] and shown["disabled"] == {}

    refused = api.post(f"/api/v1/runs/{run_id}/ticket")

    assert refused.status_code == 409
    assert "Success runs are switched off" in refused.json()["error"]["message"]
    assert refused.json()["error"]["details"] == {"code": "success_run"}
    assert not emulator_tickets(world)
    with ready.session_factory() as session:
        integration_settings.save(
            session,
            ready.secret_box,
            {"allow_success_tickets": True},
            actor="t",
            now=NOW,
            kind="autotask",
        )
        session.commit()
    assert api.post(f"/api/v1/runs/{run_id}/ticket").status_code == 201


def test_api_shows_create_disabled_for_an_unmapped_customer_and_blocks_it_with_422(
    api: TestClient, db: sessionmaker[Session]
) -> None:
    [run_id] = add_runs(db, 1, customer="Unmapped Ltd")

    shown = api.get(f"/api/v1/runs/{run_id}/ticket").json()
    preview = api.get(f"/api/v1/runs/{run_id}/ticket/preview").json()
    blocked = api.post(f"/api/v1/runs/{run_id}/ticket")

    reason = "Customer 'Unmapped Ltd' is not mapped to an Autotask company."
    assert shown["actions"] == ["link_existing"] and shown["disabled"] == {"create": reason}
    assert preview["can_create"] is False and preview["refused"] == reason
    assert preview["code"] == "mapping_missing" and preview["mapping_url"].endswith("/psa")
    assert blocked.status_code == 422 and blocked.json()["error"]["message"] == reason


def test_api_preview_matches_the_created_ticket(
    api: TestClient, db: sessionmaker[Session], world: AutotaskWorld
) -> None:
    [run_id] = add_runs(db, 1)

    preview = api.get(f"/api/v1/runs/{run_id}/ticket/preview").json()
    assert preview["can_create"] and not emulator_tickets(world)
    api.post(f"/api/v1/runs/{run_id}/ticket")

    [sent] = emulator_tickets(world)
    assert (sent["title"], sent["description"]) == (preview["title"], preview["description"])
    assert sent["companyID"] == preview["company"]["id"] == BRIGHTWATER
    assert sent["queueID"] == preview["queue"]["id"]
    assert sent["priority"] == preview["priority"]["id"]


def test_api_link_of_another_companys_ticket_needs_the_mismatch_confirmed(
    api: TestClient, db: sessionmaker[Session], world: AutotaskWorld
) -> None:
    [run_id] = add_runs(db, 1)
    theirs = _other_company_ticket(world)
    body = {"ticket_number": theirs["ticketNumber"]}

    refused = api.post(f"/api/v1/runs/{run_id}/ticket/link", json=body)
    confirmed = api.post(
        f"/api/v1/runs/{run_id}/ticket/link", json=body | {"confirm_company_mismatch": True}
    )

    assert refused.status_code == 409
    details = refused.json()["error"]["details"]
    assert details["code"] == "company_mismatch"
    assert details["ticket_company"]["id"] == theirs["companyID"]
    assert details["customer_company"]["id"] == BRIGHTWATER
    assert confirmed.status_code == 200
    assert confirmed.json()["current"]["ticket_id"] == theirs["id"]


# --- the pages -------------------------------------------------------------------------------


def _operator(app: FastAPI, db: sessionmaker[Session]) -> TestClient:
    add_user(db, "olivia.ops", Role.OPERATOR)
    client = TestClient(app)
    assert login(client, "olivia.ops").status_code == 303
    return client


def test_the_run_page_leads_to_the_preview_which_creates_once(
    app: FastAPI, db: sessionmaker[Session], ready: Runtime, world: AutotaskWorld
) -> None:
    [run_id] = add_runs(db, 1)
    with _operator(app, db) as client:
        run_page = client.get(f"/jobs/1/runs/{run_id}").text
        assert f'<a class="button small" href="/runs/{run_id}/ticket/create">' in run_page
        preview = client.get(f"/runs/{run_id}/ticket/create").text
        assert "Brightwater Dental" in preview and "High" in preview and "Backup" in preview
        assert not emulator_tickets(world)
        done = client.post(f"/runs/{run_id}/ticket/create", data={"csrf_token": csrf_of(preview)})
        [ticket] = emulator_tickets(world)
        assert ticket["title"] in preview
        cell = done.text.split(f'id="ticket-{run_id}"', 1)[1].split("</div>", 1)[0]
        assert f"{ticket['ticketNumber']} created" in cell


def test_the_preview_comes_back_to_the_page_it_was_opened_from(
    app: FastAPI, db: sessionmaker[Session], ready: Runtime
) -> None:
    [run_id] = add_runs(db, 1)
    with _operator(app, db) as client:
        here = "/run-checks?reviewed=all"
        came = client.get(
            f"/runs/{run_id}/ticket/create", headers={"Referer": f"http://testserver{here}"}
        ).text
        elsewhere = client.get(
            f"/runs/{run_id}/ticket/create", headers={"Referer": f"http://evil.example{here}"}
        ).text
        asked = client.get(
            f"/runs/{run_id}/ticket/create?return_to=/jobs/1",
            headers={"Referer": f"http://testserver{here}"},
        ).text

    assert 'name="return_to" value="/run-checks?reviewed=all"' in came
    assert f'name="return_to" value="/jobs/1/runs/{run_id}"' in elsewhere
    assert 'name="return_to" value="/jobs/1"' in asked


def test_the_preview_page_of_an_unmapped_customer_says_why_and_links_the_mapping(
    app: FastAPI, db: sessionmaker[Session], ready: Runtime
) -> None:
    [run_id] = add_runs(db, 1, customer="Unmapped Ltd")
    with _operator(app, db) as client:
        row = client.get(f"/jobs/2/runs/{run_id}", follow_redirects=True).text
        preview = client.get(f"/runs/{run_id}/ticket/create").text

    assert "disabled" in row and "is not mapped to an Autotask company" in row
    assert '/psa">Map the customer to a company</a>' in row
    assert "is not mapped to an Autotask company" in preview
    assert '/psa">Map Unmapped Ltd to a company in Autotask</a>' in preview
    assert 'action="/runs/' not in preview  # no button to send what cannot be sent


def test_a_refused_cross_company_link_brings_the_number_back_with_a_confirm_box(
    app: FastAPI, db: sessionmaker[Session], ready: Runtime, world: AutotaskWorld
) -> None:
    [run_id] = add_runs(db, 1)
    theirs = _other_company_ticket(world)
    with _operator(app, db) as client:
        page = client.get(f"/jobs/1/runs/{run_id}").text
        data = {"csrf_token": csrf_of(page), "ticket_number": theirs["ticketNumber"]}
        refused = client.post(f"/runs/{run_id}/ticket/link", data=data).text
        cell = refused.split(f'id="ticket-{run_id}"', 1)[1].split("</div>", 1)[0]
        assert "belongs to Acme Logistics Inc." in cell and 'class="flash error"' in cell
        assert f'value="{theirs["ticketNumber"]}"' in cell
        assert 'name="confirm_company_mismatch"' in cell
        linked = client.post(
            f"/runs/{run_id}/ticket/link",
            data=data | {"csrf_token": csrf_of(refused), "confirm_company_mismatch": "true"},
        ).text
    cell = linked.split(f'id="ticket-{run_id}"', 1)[1].split("</div>", 1)[0]
    assert "linked, though it belongs to Acme Logistics Inc." in cell
    assert 'name="confirm_company_mismatch"' not in cell
