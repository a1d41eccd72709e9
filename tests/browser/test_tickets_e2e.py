"""An operator creates an Autotask ticket from a run (preview, then confirm), then resolves it
(§4.1, §6.3).

The app is served on a loopback port; its connector reaches the Autotask emulator in-process
through the runtime's PSA transport.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tests.browser.conftest import serve
from tests.factories import NOW, PASSWORD, add_runs, add_user
from tests.services.autotask_world import AutotaskWorld
from tests.services.tickets.support import emulator_tickets, notes_of, prepare
from ticketbridge.core.resolve_policy import RESOLVE_NOTE_TEXT
from ticketbridge.core.roles import Role
from ticketbridge.settings import Settings
from ticketbridge.web.app import create_app

pytestmark = pytest.mark.browser


@pytest.fixture
def world() -> Iterator[AutotaskWorld]:
    made = AutotaskWorld()
    yield made
    made.close()


@pytest.fixture
def ticket_app_url(
    settings: Settings, engine: Engine, db: sessionmaker[Session], world: AutotaskWorld
) -> Iterator[str]:
    app = create_app(settings, engine=engine, clock=lambda: NOW)
    world.attach(app.state.ctx)
    prepare(app.state.ctx, db)
    yield from serve(app)


def test_operator_creates_then_resolves_a_ticket_from_the_run(
    ticket_app_url: str, page: Page, db: sessionmaker[Session], world: AutotaskWorld
) -> None:
    # ticket_app_url first: the emulator is prepared before Playwright's loop runs here.
    [run_id] = add_runs(db, 1)
    add_user(db, "olivia.ops", Role.OPERATOR)

    page.goto(f"{ticket_app_url}/login")
    page.get_by_label("Username").fill("olivia.ops")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{ticket_app_url}/jobs/1/runs/{run_id}")
    row = page.locator(f"#ticket-{run_id}")

    row.get_by_role("link", name="Create Autotask ticket").click()
    page.get_by_role("button", name="Create Autotask ticket").click()  # on the preview page

    [ticket] = emulator_tickets(world)
    expect(row.get_by_role("status")).to_contain_text(f"{ticket['ticketNumber']} created")
    expect(row.get_by_role("link", name=ticket["ticketNumber"])).to_be_visible()
    expect(row.get_by_role("link", name="Create Autotask ticket")).to_have_count(0)

    row.get_by_role("button", name="Resolve ticket").click()

    expect(row.get_by_role("status")).to_contain_text("resolved and set to Complete")
    expect(row).to_contain_text("Resolved")
    expect(row.get_by_role("button", name="Resolve ticket")).to_have_count(0)
    [note] = notes_of(world, ticket["id"])
    assert note["description"] == RESOLVE_NOTE_TEXT
    assert emulator_tickets(world)[0]["status"] == 5
