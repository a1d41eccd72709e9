"""An admin makes a sync between Autotask and Jira in a real browser, looks at its dry run and
only then enables it (issue 14, items 1, 6 and 8).

Both emulators answer in-process on the test's clock (the product's PSA transport routes by
host, as in tests/services/sync); the app itself is served by uvicorn on a loopback port.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from tests.browser.artifacts import sign_in
from tests.browser.conftest import serve
from tests.factories import PASSWORD, add_user
from tests.services.sync.support import OPS, Clock, SyncWorld, company, connect, new_ticket
from ticketbridge.core.roles import Role
from ticketbridge.settings import Settings
from ticketbridge.storage.models.sync import SyncRow
from ticketbridge.web.app import create_app

pytestmark = pytest.mark.browser


@dataclass(frozen=True)
class Served:
    url: str
    acme: int


@pytest.fixture
def served(settings: Settings, engine: Engine, db: sessionmaker[Session]) -> Iterator[Served]:
    clock = Clock()
    world = SyncWorld(clock)
    app = create_app(settings, engine=engine, clock=clock)
    runtime = world.attach(app.state.ctx)
    a, _ = connect(runtime)
    acme = company(runtime, a, "Acme")
    new_ticket(runtime, a, acme, "Printer offline in Leeds")
    add_user(db, "ada.admin", Role.ADMIN)
    try:
        for url in serve(app):
            yield Served(url, acme)
    finally:
        world.close()


def test_admin_makes_a_sync_sees_its_dry_run_and_then_enables_it(
    served: Served, page: Page, db: sessionmaker[Session]
) -> None:
    sign_in(page, served.url, "ada.admin", PASSWORD)
    page.get_by_role("link", name="Syncs").click()
    page.get_by_role("link", name="New sync").click()

    page.get_by_label("Name").fill("Acme to OPS")
    page.get_by_label("Connection A").select_option(label="Autotask (Autotask)")
    page.get_by_label("Connection B").select_option(label="Jira (Jira)")
    page.get_by_label("Start date (UTC)").fill("2026-11-20T11:00")
    page.locator('input[name="scope_a"]').fill(str(served.acme))
    page.locator('textarea[name="mapping.a_to_b.company.rows"]').fill(f"{served.acme}={OPS}")
    page.get_by_role("button", name="Create").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Acme to OPS")
    expect(page.locator("#needs-dry-run")).to_be_visible()
    page.get_by_role("button", name="Dry run").click()
    expect(page.locator("#dry-run-b")).to_contain_text("1")
    expect(page.locator("#dry-run-sample")).to_contain_text("create on B: Printer offline in Leeds")

    page.get_by_label("Run this sync on its schedule").check()
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_role("status")).to_contain_text("Sync Acme to OPS saved.")
    expect(page.get_by_label("Run this sync on its schedule")).to_be_checked()
    with db() as session:
        row = session.scalar(select(SyncRow).where(SyncRow.name == "Acme to OPS"))
        assert row is not None and row.enabled and row.dry_run_at is not None
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Syncs").click()
    expect(page.locator("#syncs")).to_contain_text("enabled")
