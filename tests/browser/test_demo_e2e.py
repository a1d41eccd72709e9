"""A newcomer's first minutes with `ticketbridge demo`: the demo starts with its own emulator,
customers mapped and resolving on; the ticket made for a failed run opens, from the run's
page, on the emulator's read-only ticket page."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from tests.browser.artifacts import VIEWPORT, screenshot, sign_in
from tests.browser.conftest import serve
from tests.conftest import settings_kwargs
from ticketbridge.cli import server
from ticketbridge.services.tickets import create as ticket_create
from ticketbridge.settings import Settings
from ticketbridge.storage.models import Customer, Job, Run
from ticketbridge.web.app import create_app

pytestmark = pytest.mark.browser

served = contextmanager(serve)


def _demo(var_dir: Path) -> Iterator[server.Demo]:
    settings = Settings(**settings_kwargs(var_dir=var_dir, demo_mode=True, port=0))
    demo = server.start_demo(settings, emulator_port=0)
    yield demo
    demo.stop()


@pytest.fixture
def started(tmp_path: Path) -> Iterator[server.Demo]:
    yield from _demo(tmp_path / "var")


def _failed_acme_run(demo: server.Demo) -> tuple[int, int]:
    with demo.runtime.session_factory() as session:
        run = session.scalars(
            select(Run)
            .join(Run.job)
            .join(Job.customer)
            .where(Customer.name == "Acme Logistics", Run.status.in_(("failed", "error")))
            .order_by(Run.id)
        ).first()
        assert run is not None
        return run.id, run.job_id


@pytest.fixture
def demo_ui(started: server.Demo) -> Iterator[str]:
    yield from serve(create_app(started.runtime.settings, engine=started.runtime.engine))


def test_open_ticket_shows_the_created_ticket_on_the_emulator(
    started: server.Demo, demo_ui: str, page: Page
) -> None:
    run_id, job_id = _failed_acme_run(started)
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


@pytest.fixture
def second(tmp_path: Path) -> Iterator[server.Demo]:
    """A second demo on the same machine, with a var dir of its own."""
    yield from _demo(tmp_path / "second")


def test_two_demos_side_by_side_in_one_browser_each_open_their_own_ticket(
    started: server.Demo, second: server.Demo, page: Page
) -> None:
    """Two tabs of one browser, one per demo: each stays signed in, creates its ticket in its
    own emulator through the preview, and opens it there."""
    demos = (started, second)
    assert started.emulator_url != second.emulator_url
    first_app = create_app(started.runtime.settings, engine=started.runtime.engine)
    second_app = create_app(second.runtime.settings, engine=second.runtime.engine)
    with served(first_app) as first_ui, served(second_app) as second_ui:
        tabs = (page, page.context.new_page())
        urls = (first_ui, second_ui)
        for tab, url, demo in zip(tabs, urls, demos, strict=True):
            tab.set_viewport_size(VIEWPORT)
            sign_in(tab, url, server.DEMO_ADMIN, demo.password)
        for tab, url, demo in zip(tabs, urls, demos, strict=True):
            run_id, job_id = _failed_acme_run(demo)
            tab.goto(f"{url}/jobs/{job_id}/runs/{run_id}")  # still signed in
            cell = tab.locator(f"#ticket-{run_id}")
            cell.get_by_role("link", name="Create Autotask ticket").click()
            expect(tab.locator("#preview-company")).to_contain_text("Acme Logistics Inc.")
            screenshot(tab, f"ticket-create-preview-{tabs.index(tab) + 1}")
            tab.get_by_role("button", name="Create Autotask ticket").click()
            expect(cell.get_by_role("status")).to_contain_text("created")
            with tab.context.expect_page() as opened:
                cell.get_by_role("link", name="Open ticket").click()
            ticket_page = opened.value
            ticket_page.wait_for_load_state()
            assert demo.emulator_url is not None
            assert ticket_page.url.startswith(demo.emulator_url)
            # The ticket page of this demo's own emulator, with the ticket just created.
            expect(ticket_page.locator("dl")).to_contain_text("Acme Logistics Inc. (101)")
            ticket_page.close()
