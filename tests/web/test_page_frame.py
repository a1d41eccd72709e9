"""What frames every page and what the Dashboard and Daily Jobs add, without a browser: the
menu with its current page, error pages with the menu for those signed in, the favicon, a
customer opening to its jobs, and "problems only"."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi import FastAPI
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from tests.factories import NOW, add_runs, add_user, login
from ticketbridge.core.roles import Role
from ticketbridge.core.statuses import RunStatus


def _signed_in(app: FastAPI, db: sessionmaker[Session], role: Role = Role.OPERATOR) -> TestClient:
    add_user(db, f"frame-{role.value}", role)
    client = TestClient(app)
    assert login(client, f"frame-{role.value}").status_code == 303
    return client


def test_favicon_is_served_to_anyone(client: TestClient) -> None:
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/x-icon"
    assert icon.content[:4] == b"\x00\x00\x01\x00"  # an ICO header
    assert client.get("/static/favicon.svg").status_code == 200
    assert '<link rel="icon" href="/static/favicon.svg"' in client.get("/login").text


def test_the_menu_marks_the_current_page_and_a_skip_link_leads_to_main(
    app: FastAPI, db: sessionmaker[Session]
) -> None:
    [run_id] = add_runs(db, 1)
    client = _signed_in(app, db, Role.ADMIN)

    def current(path: str) -> list[str]:
        return re.findall(r'<a href="([^"]+)" aria-current="page">', client.get(path).text)

    assert current("/") == ["/"]
    assert current("/run-checks") == ["/run-checks"]
    assert current(f"/jobs/1/runs/{run_id}") == ["/jobs"]
    assert current("/daily-jobs") == ["/daily-jobs"]
    assert current("/admin/integrations/autotask") == ["/admin/settings"]
    page = client.get("/").text
    assert '<a class="skip-link" href="#main">Skip to content</a>' in page
    assert '<nav aria-label="Main">' in page and '<main id="main"' in page


def test_error_pages_keep_the_menu_for_the_signed_in(
    app: FastAPI, db: sessionmaker[Session]
) -> None:
    client = _signed_in(app, db)

    missing = client.get("/jobs/424242")

    assert missing.status_code == 404
    assert '<nav aria-label="Main">' in missing.text and "Sign out" in missing.text
    assert "Times shown in UTC." in missing.text


def test_anonymous_error_pages_are_bare_and_ask_the_database_nothing(
    client: TestClient, engine: Engine
) -> None:
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        missing = client.get("/no-such-page")
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert missing.status_code == 404
    assert "<nav" not in missing.text and "Times shown in" not in missing.text
    assert statements == []


def test_dashboard_opens_customers_to_their_jobs_and_keeps_problems_only(
    app: FastAPI, db: sessionmaker[Session]
) -> None:
    add_runs(db, 1, status=RunStatus.FAILED, started_at=NOW - timedelta(hours=2))
    add_runs(db, 1, job_name="Acme Offsite Copy", status=RunStatus.SUCCESS)
    add_runs(db, 2, customer="Brightwater Dental", job_name="BW", status=RunStatus.SUCCESS)
    client = _signed_in(app, db, Role.VIEWER)

    closed = client.get("/").text
    assert 'class="job"' not in closed
    assert 'href="/?expand=1#customer-1" aria-expanded="false"' in closed

    opened = client.get("/?expand=1").text
    assert opened.count('<tr class="job">') == 2
    assert 'href="/#customer-1" aria-expanded="true"' in opened
    assert "/jobs/" not in opened  # a viewer gets no links to runs or jobs

    problems = client.get("/?problems=1&expand=1&expand=2").text
    assert "Brightwater Dental" not in problems
    assert problems.count('<tr class="job">') == 1 and "Acme VM Backup" in problems
    # Closing Acme keeps the switch and the other open customer.
    assert 'href="/?problems=1&amp;expand=2#customer-1"' in problems

    # Ids that name nothing are ignored, however large.
    assert client.get(f"/?expand={2**70}&expand=-3").status_code == 200


def test_daily_jobs_offers_the_days_around_and_problems_only(
    app: FastAPI, db: sessionmaker[Session]
) -> None:
    start = NOW - timedelta(days=1, hours=11)
    add_runs(db, 8, started_at=start - timedelta(days=1), status=RunStatus.SUCCESS)
    add_runs(db, 1, started_at=start, status=RunStatus.FAILED)
    add_runs(db, 9, job_name="Acme Offsite Copy", started_at=start, status=RunStatus.SUCCESS)
    client = _signed_in(app, db)

    page = client.get("/daily-jobs?day=2026-11-19&problems=1").text

    assert 'href="/daily-jobs?day=2026-11-18&amp;problems=1" rel="prev"' in page
    assert 'href="/daily-jobs?day=2026-11-20&amp;problems=1" rel="next"' in page
    assert "Acme VM Backup" in page and "Acme Offsite Copy" not in page
    assert "Showing the 1 of 2 with a problem." in page
    assert 'rel="prev"' not in client.get("/daily-jobs?day=1970-01-01").text
