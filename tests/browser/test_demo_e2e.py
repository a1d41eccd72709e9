"""A newcomer's first minutes with `ticketbridge demo`: the demo starts with its own emulator,
customers mapped and resolving on; the ticket made for a failed run opens, from the run's
page, on the emulator's read-only ticket page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from tests.browser.artifacts import VIEWPORT, screenshot, sign_in
from tests.browser.conftest import serve
from tests.conftest import settings_kwargs
from ticketbridge.cli import server
from ticketbridge.services import ticket_create
from ticketbridge.settings import Settings
from ticketbridge.storage.models import Customer, Job, Run
from ticketbridge.web.app import create_app

pytestmark = pytest.mark.browser


@pytest.fixture
def started(tmp_path: Path) -> Iterator[server.Demo]:
    settings = Settings(**settings_kwargs(var_dir=tmp_path / "var", demo_mode=True, port=0))
    demo = server.start_demo(settings, emulator_port=0)
    yield demo
    demo.stop()


@pytest.fixture
def demo_ui(started: server.Demo) -> Iterator[str]:
    yield from serve(create_app(started.runtime.settings, engine=started.runtime.engine))


def test_open_ticket_shows_the_created_ticket_on_the_emulator(
    started: server.Demo, demo_ui: str, page: Page
) -> None:
    with started.runtime.session_factory() as session:
        run = session.scalars(
            select(Run)
            .join(Run.job)
            .join(Job.customer)
            .where(Customer.name == "Acme Logistics", Run.status.in_(("failed", "error")))
            .order_by(Run.id)
        ).first()
        assert run is not None
        run_id, job_id = run.id, run.job_id
    link = ticket_create.create(started.runtime, run_id, actor="admin").link
    page.set_viewport_size(VIEWPORT)
    sign_in(page, demo_ui, server.DEMO_ADMIN, started.password)

    page.goto(f"{demo_ui}/jobs/{job_id}/runs/{run_id}")
    with page.context.expect_page() as opened:
        page.get_by_role("link", name="Open ticket").click()
    ticket_page = opened.value
    ticket_page.wait_for_load_state()

    assert started.emulator_url is not None
    assert ticket_page.url.startswith(f"{started.emulator_url}/Autotask/AutotaskExtend/")
    expect(ticket_page.get_by_role("heading", level=1)).to_contain_text(str(link.ticket_number))
    facts = ticket_page.locator("dl")
    expect(facts).to_contain_text("Acme Logistics Inc. (101)")
    expect(facts).to_contain_text("New")
    expect(ticket_page.get_by_role("heading", name="Time entries")).to_be_visible()
    screenshot(ticket_page, "emulator-ticket-page")
