"""The Dashboard and Daily Jobs in a real browser: the legend, counts and ticket marks in the
cells, a customer opening to its jobs, "problems only", and the page frame around them (the
current page in the menu, the skip link, the favicon, error pages with the menu)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tests.browser.artifacts import VIEWPORT, screenshot, sign_in
from tests.browser.conftest import serve
from tests.factories import NOW, PASSWORD, add_runs, add_user
from ticketbridge.core.roles import Role
from ticketbridge.core.statuses import RunStatus
from ticketbridge.settings import Settings
from ticketbridge.storage.models import PsaConnection, TicketLinkRow
from ticketbridge.web.app import create_app

pytestmark = pytest.mark.browser

OPERATOR = "olivia.ops"
TODAY = NOW.date().isoformat()


@pytest.fixture
def app_url(settings: Settings, engine: Engine, db: sessionmaker[Session]) -> Iterator[str]:
    """The app with its clock at NOW, so that the seeded days are the dashboard's last days."""
    yield from serve(create_app(settings, engine=engine, clock=lambda: NOW))


def _seed(db: sessionmaker[Session]) -> int:
    """Acme: a failed run today (with a ticket) and a success, warnings before; Brightwater:
    successes only. Returns the failed run's id."""
    add_user(db, OPERATOR, Role.OPERATOR)
    [failed] = add_runs(db, 1, status=RunStatus.FAILED, started_at=NOW - timedelta(hours=10))
    add_runs(
        db, 1, job_name="Acme Offsite Copy", status=RunStatus.SUCCESS, started_at=NOW
    )  # same day, another job
    add_runs(db, 3, status=RunStatus.WARNING, started_at=NOW - timedelta(days=1, hours=10))
    add_runs(
        db,
        4,
        customer="Brightwater Dental",
        job_name="Brightwater NAS to USB",
        status=RunStatus.SUCCESS,
        started_at=NOW - timedelta(hours=9),
    )
    with db() as session:
        connection = PsaConnection(name="Autotask", kind="autotask", config={})
        session.add(connection)
        session.flush()
        session.add(
            TicketLinkRow(
                run_id=failed,
                current_run_id=failed,
                connection_id=connection.id,
                kind="autotask",
                state="active",
                origin="created",
                ticket_id=7004,
                ticket_number="T20261120.0001",
                created_by="test",
            )
        )
        session.commit()
    return failed


def test_dashboard_legend_counts_ticket_mark_expand_and_problems_only(
    app_url: str, page: Page, db: sessionmaker[Session]
) -> None:
    _seed(db)
    page.set_viewport_size(VIEWPORT)
    sign_in(page, app_url, OPERATOR, PASSWORD)

    # The legend lists every status worst first, each with a label and a shape.
    legend = page.locator(".legend li .status")
    expect(legend).to_have_text(["Failed", "Error", "Missed", "Warning", "Unknown", "Success"])
    assert page.locator(".legend .status .shape").count() == 6

    acme = page.locator("#customer-1 > tr").first
    today = acme.locator("td.cell").last
    expect(today).to_have_class("cell s-failed")
    expect(today).to_contain_text("Failed")
    expect(today.locator(".counts")).to_have_text("1/2 T")  # 1 of 2 runs a problem; a ticket
    expect(today.get_by_role("link")).to_have_accessible_name(
        re.compile(r"^Failed\s?, 1 failed, 1 success; 1 with a ticket\s*$")
    )
    yesterday = acme.locator("td.cell").nth(-2)
    expect(yesterday).to_have_class("cell s-warning")
    expect(yesterday.locator(".counts")).to_have_text("1/1")

    # The menu marks where we are.
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Dashboard")).to_have_attribute("aria-current", "page")
    expect(nav.get_by_role("link", name="Run Checks")).not_to_have_attribute("aria-current", "page")
    screenshot(page, "dashboard")

    # A customer opens to its jobs, and closes again; without any script.
    toggle = page.get_by_role("link", name="Acme Logistics")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.click()
    toggle = page.get_by_role("link", name="Acme Logistics")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    jobs = page.locator("#customer-1 tr.job")
    expect(jobs).to_have_count(2)
    expect(jobs.first).to_contain_text("Acme Offsite Copy")
    expect(jobs.nth(1)).to_contain_text("Acme VM Backup")
    expect(jobs.nth(1).locator("td.cell").last).to_have_class("cell s-failed")
    screenshot(page, "dashboard-customer-open")

    # Problems only: Brightwater (all success) goes, Acme stays open with its failing job only.
    page.get_by_role("link", name="Problems only").click()
    expect(page.get_by_role("link", name="Problems only")).to_have_attribute("aria-current", "true")
    expect(page.get_by_role("link", name="Brightwater Dental")).to_have_count(0)
    expect(page.locator("#customer-1 tr.job")).to_have_count(1)
    expect(page.locator("#customer-1 tr.job")).to_contain_text("Acme VM Backup")
    screenshot(page, "dashboard-problems-only")

    page.get_by_role("link", name="All customers").click()
    expect(page.get_by_role("link", name="Brightwater Dental")).to_be_visible()
    page.get_by_role("link", name="Acme Logistics").click()
    expect(page.locator("#customer-1 tr.job")).to_have_count(0)

    # A cell opens Run Checks on that customer and day.
    page.locator("#customer-1 td.cell").last.get_by_role("link").click()
    expect(page).to_have_url(
        f"{app_url}/run-checks?customer_id=1&date_from={TODAY}&date_to={TODAY}&reviewed=all"
    )


def test_skip_link_favicon_and_error_pages_with_the_menu(
    app_url: str, page: Page, db: sessionmaker[Session]
) -> None:
    _seed(db)
    sign_in(page, app_url, OPERATOR, PASSWORD)

    # The first Tab reaches "Skip to content", which moves focus past the 14 menu links.
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"

    icon = httpx.get(f"{app_url}/favicon.ico", timeout=10)
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/x-icon"
    assert page.locator('link[rel="icon"]').get_attribute("href") == "/static/favicon.svg"

    answer = page.goto(f"{app_url}/jobs/999999")
    assert answer is not None and answer.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Run Checks")).to_be_visible()
    expect(nav.get_by_role("link", name="Jobs", exact=True)).to_have_attribute(
        "aria-current", "page"
    )
    expect(page.locator("footer")).to_have_text("Times shown in UTC.")
    screenshot(page, "error-404-signed-in")

    # Signed out, an error page has no menu and no empty "Times shown in ." line.
    page.context.clear_cookies()
    page.goto(f"{app_url}/no-such-page")
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    expect(page.get_by_role("navigation")).to_have_count(0)
    expect(page.locator("footer")).to_have_count(0)


def test_a_150_character_username_does_not_widen_the_page(
    app_url: str, page: Page, db: sessionmaker[Session]
) -> None:
    long_name = "operator-" + "x" * 141
    add_user(db, long_name, Role.ADMIN)
    page.set_viewport_size(VIEWPORT)
    sign_in(page, app_url, long_name, PASSWORD)
    assert page.evaluate("document.documentElement.scrollWidth") <= VIEWPORT["width"]
    screenshot(page, "dashboard-long-username", full_page=False)


def test_daily_jobs_previous_next_day_and_problems_only(
    app_url: str, page: Page, db: sessionmaker[Session]
) -> None:
    add_user(db, OPERATOR, Role.OPERATOR)
    # Two jobs run daily at 01:00 UTC (learned schedules); yesterday one failed.
    start = NOW - timedelta(days=1, hours=11)
    add_runs(db, 8, started_at=start - timedelta(days=1), status=RunStatus.SUCCESS)
    add_runs(db, 1, started_at=start, status=RunStatus.FAILED)
    add_runs(db, 9, job_name="Acme Offsite Copy", started_at=start, status=RunStatus.SUCCESS)
    page.set_viewport_size(VIEWPORT)
    sign_in(page, app_url, OPERATOR, PASSWORD)

    page.goto(f"{app_url}/daily-jobs?day=2026-11-19")
    expect(page.get_by_role("heading", name="Daily Jobs · 2026-11-19")).to_be_visible()
    expect(page.locator("table.runs tbody tr")).to_have_count(2)

    page.get_by_label("Problems only").check()
    page.get_by_role("button", name="Show").click()
    rows = page.locator("table.runs tbody tr")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("Acme VM Backup")
    expect(rows).to_contain_text("Failed")
    screenshot(page, "daily-jobs-problems-only")

    page.get_by_role("link", name="← Previous day").click()
    expect(page.get_by_role("heading", name="Daily Jobs · 2026-11-18")).to_be_visible()
    expect(page.get_by_label("Problems only")).to_be_checked()
    expect(page.get_by_text("No job had a problem on this day.")).to_be_visible()

    page.get_by_role("link", name="Next day →").click()
    page.get_by_role("link", name="Next day →").click()
    expect(page.get_by_role("heading", name="Daily Jobs · 2026-11-20")).to_be_visible()
    expect(page.get_by_label("Problems only")).to_be_checked()
