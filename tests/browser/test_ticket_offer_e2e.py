"""Ticket actions on a run in a real browser (issue 11, item 3): Create shows a preview and asks
once, an unmapped customer's Create is disabled with the reason and a link to the mapping, a
ticket of another company is refused until the mismatch is confirmed, and every message stands
in the ticket cell of the run acted on.

The app is served on a loopback port; its connector reaches the Autotask emulator in-process
through the runtime's PSA transport.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tests.browser.artifacts import FAILING_IMPACTS, accessibility_violations, screenshot
from tests.browser.conftest import serve
from tests.factories import NOW, PASSWORD, add_runs, add_user
from tests.services.autotask_world import AutotaskWorld
from tests.services.tickets.support import BRIGHTWATER, emulator_tickets, prepare
from ticketbridge.core.roles import Role
from ticketbridge.core.statuses import RunStatus
from ticketbridge.settings import Settings
from ticketbridge.web.app import create_app

pytestmark = pytest.mark.browser


@pytest.fixture
def world() -> Iterator[AutotaskWorld]:
    made = AutotaskWorld()
    yield made
    made.close()


@pytest.fixture
def app_url(
    settings: Settings, engine: Engine, db: sessionmaker[Session], world: AutotaskWorld
) -> Iterator[str]:
    app = create_app(settings, engine=engine, clock=lambda: NOW)
    world.attach(app.state.ctx)
    prepare(app.state.ctx, db)  # "Acme Logistics" is mapped to Brightwater Dental
    yield from serve(app)


def _sign_in(page: Page, base: str, db: sessionmaker[Session]) -> None:
    add_user(db, "olivia.ops", Role.OPERATOR)
    page.goto(f"{base}/login")
    page.get_by_label("Username").fill("olivia.ops")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_create_shows_the_preview_and_creates_only_when_confirmed(
    app_url: str, page: Page, db: sessionmaker[Session], world: AutotaskWorld
) -> None:
    [run_id] = add_runs(db, 1)
    _sign_in(page, app_url, db)
    page.goto(f"{app_url}/jobs/1/runs/{run_id}")

    page.locator(f"#ticket-{run_id}").get_by_role("link", name="Create Autotask ticket").click()

    expect(page.get_by_role("heading", name="Create ticket for this run")).to_be_visible()
    expect(page.locator("#preview-company")).to_contain_text("Brightwater Dental")
    expect(page.locator("#preview-priority")).to_have_text("High")
    expect(page.locator("#preview-queue")).not_to_have_text("–")
    title = page.locator("#preview-title").inner_text()
    assert title == "[ticketbridge] Acme Logistics - Acme VM Backup - Error"
    assert emulator_tickets(world) == []  # the preview sends and reserves nothing
    screenshot(page, "ticket-create-preview-mapped")
    violations = accessibility_violations(page, "ticket-create-preview")
    assert not [v for v in violations if v.impact in FAILING_IMPACTS], violations

    page.get_by_role("button", name="Create Autotask ticket").click()

    [ticket] = emulator_tickets(world)
    assert ticket["title"] == title
    cell = page.locator(f"#ticket-{run_id}")
    expect(cell.get_by_role("status")).to_contain_text(f"{ticket['ticketNumber']} created")
    expect(cell.get_by_role("link", name=ticket["ticketNumber"])).to_be_visible()
    expect(cell.get_by_role("link", name="Create Autotask ticket")).to_have_count(0)


def test_unmapped_customer_create_is_disabled_with_the_reason_and_the_mapping_link(
    app_url: str, page: Page, db: sessionmaker[Session], world: AutotaskWorld
) -> None:
    [unmapped] = add_runs(db, 1, customer="Unmapped Ltd")
    [success] = add_runs(db, 1, status=RunStatus.SUCCESS, job_name="Nightly")
    _sign_in(page, app_url, db)

    page.goto(f"{app_url}/jobs/0/runs/{unmapped}")
    cell = page.locator(f"#ticket-{unmapped}")
    expect(cell.get_by_role("button", name="Create Autotask ticket")).to_be_disabled()
    expect(cell).to_contain_text("'Unmapped Ltd' is not mapped to an Autotask company.")
    mapping = cell.get_by_role("link", name="Map the customer to a company")
    expect(mapping).to_have_attribute("href", "/customers/2/psa")
    # The preview page says the same and offers nothing to send.
    page.goto(f"{app_url}/runs/{unmapped}/ticket/create")
    expect(page.get_by_role("alert")).to_contain_text("is not mapped to an Autotask company")
    expect(page.get_by_role("button", name="Create Autotask ticket")).to_have_count(0)
    expect(
        page.get_by_role("link", name="Map Unmapped Ltd to a company in Autotask")
    ).to_be_visible()

    page.goto(f"{app_url}/jobs/0/runs/{success}")  # a Success run: not offered at all
    success_cell = page.locator(f"#ticket-{success}")
    expect(success_cell.get_by_role("button", name="Link existing")).to_be_visible()
    expect(success_cell.get_by_text("Create Autotask ticket")).to_have_count(0)
    assert emulator_tickets(world) == []


def test_a_ticket_of_another_company_is_refused_next_to_the_run_until_confirmed(
    app_url: str, page: Page, db: sessionmaker[Session], world: AutotaskWorld
) -> None:
    store_ = world.transport.app.state.emulator.store  # type: ignore[attr-defined]
    theirs = next(t for t in store_.tables["tickets"].values() if t["companyID"] != BRIGHTWATER)
    runs = add_runs(db, 30)  # a long history: the run acted on is far down the job's page
    run_id = runs[-1]
    _sign_in(page, app_url, db)
    page.goto(f"{app_url}/jobs/1/runs/{run_id}")
    cell = page.locator(f"#ticket-{run_id}")

    cell.get_by_label(f"Autotask ticket number for run {run_id}").fill(theirs["ticketNumber"])
    cell.get_by_role("button", name="Link existing").click()

    message = cell.get_by_role("status")
    expect(message).to_contain_text(f"Ticket {theirs['ticketNumber']} belongs to Acme Logistics")
    expect(message).to_contain_text("not to Brightwater Dental")
    expect(message).to_be_in_viewport()
    expect(page.locator("main > .flash")).to_have_count(0)  # not at the top of the page
    expect(cell.get_by_label(f"Autotask ticket number for run {run_id}")).to_have_value(
        theirs["ticketNumber"]
    )

    cell.get_by_label("Link although it belongs to another company").check()
    cell.get_by_role("button", name="Link existing").click()

    expect(cell.get_by_role("status")).to_contain_text("linked, though it belongs to Acme")
    expect(cell.get_by_role("link", name=theirs["ticketNumber"])).to_be_visible()
    screenshot(page, "run-ticket-linked-across-companies", full_page=False)
