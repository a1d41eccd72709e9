"""axe-core on the main pages, as an admin sees them with the demo data: no critical and no
serious violation. Each page is also saved as a screenshot under var/screenshots/ for review."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from tests.browser.artifacts import (
    FAILING_IMPACTS,
    VIEWPORT,
    Violation,
    accessibility_violations,
    screenshot,
    sign_in,
)
from tests.browser.conftest import serve
from tests.factories import NOW
from ticketbridge.core.roles import Role
from ticketbridge.services.accounts import users as accounts
from ticketbridge.services.demo import data as demo
from ticketbridge.services.demo import mail as demo_mail
from ticketbridge.settings import Settings
from ticketbridge.storage.models import Run
from ticketbridge.web.app import create_app

pytestmark = pytest.mark.browser

ADMIN = "ada.admin"
PASSWORD = "accessible-to-everyone"


@pytest.fixture
def demo_url(settings: Settings, engine: Engine, db: sessionmaker[Session]) -> Iterator[str]:
    """The app on the demo data, its clock at the demo's day."""
    with db() as session:
        accounts.create_user(session, ADMIN, PASSWORD, Role.ADMIN)
        demo.seed(session, NOW)
        demo_mail.seed(session, NOW)
        session.commit()
    yield from serve(create_app(settings, engine=engine, clock=lambda: NOW))


def _a_run(db: sessionmaker[Session]) -> tuple[int, int]:
    with db() as session:
        run = session.scalars(select(Run).where(Run.status == "failed").order_by(Run.id)).first()
        assert run is not None
        return run.job_id, run.id


def _check(page: Page, url: str, name: str, found: list[Violation]) -> None:
    answer = page.goto(url)
    assert answer is not None and answer.status < 500, (url, answer and answer.status)
    screenshot(page, name)
    found += [v for v in accessibility_violations(page, name) if v.impact in FAILING_IMPACTS]


def test_main_pages_have_no_critical_or_serious_accessibility_violations(
    demo_url: str, page: Page, db: sessionmaker[Session]
) -> None:
    job_id, run_id = _a_run(db)
    page.set_viewport_size(VIEWPORT)
    found: list[Violation] = []

    _check(page, f"{demo_url}/login", "login", found)
    sign_in(page, demo_url, ADMIN, PASSWORD)
    pages = {
        "dashboard-demo": "/",
        "dashboard-demo-open-problems": "/?problems=1&expand=1&expand=2",
        "run-checks": "/run-checks",
        "jobs": "/jobs",
        "job": f"/jobs/{job_id}",
        "run": f"/jobs/{job_id}/runs/{run_id}",
        "inbox": "/inbox",
        "daily-jobs": "/daily-jobs",
        "customers": "/customers",
        "service-desk": "/service-desk",
        "service-desk-filtered": "/service-desk/filtered",
        "service-desk-rules": "/service-desk/rules",
        "syncs": "/syncs",
        "sync-new": "/syncs/new",
        "audit-log": "/admin/audit",
        "settings": "/admin/settings",
        "autotask-settings": "/admin/integrations/autotask",
        "error-404": "/jobs/999999",
    }
    for name, path in pages.items():
        _check(page, f"{demo_url}{path}", name, found)
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()

    assert not found, "\n".join(str(v) for v in found)
