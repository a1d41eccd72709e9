"""The review queue in a real browser, with and without JavaScript: Enter in the note reviews
exactly what is ticked, select-all, review all matching (confirmed), Undo, filters without dates,
the message where the rows were, keys, and 25 jobs on a 1440x900 screen."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from tests.browser.artifacts import VIEWPORT, screenshot, sign_in
from tests.browser.conftest import EXPECT_TIMEOUT_MS, serve
from tests.factories import NOW, PASSWORD, add_runs, add_user
from ticketbridge.core.roles import Role
from ticketbridge.core.statuses import RunStatus
from ticketbridge.services.demo import data as demo
from ticketbridge.settings import Settings
from ticketbridge.storage.models import AuditEvent, Run
from ticketbridge.web.app import create_app

pytestmark = pytest.mark.browser

OPERATOR = "olivia.ops"


@pytest.fixture(params=["script", "no-script"])
def any_page(request: pytest.FixtureRequest, browser: Browser) -> Iterator[Page]:
    """The same page with JavaScript on and off: the queue must work either way."""
    context = browser.new_context(java_script_enabled=request.param == "script")
    context.set_default_timeout(EXPECT_TIMEOUT_MS)
    yield context.new_page()
    context.close()


def _sign_in(page: Page, base_url: str, db: sessionmaker[Session], role: Role = Role.OPERATOR,
             name: str = OPERATOR) -> None:  # fmt: skip
    add_user(db, name, role)
    page.goto(f"{base_url}/login")
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def _jobs(db: sessionmaker[Session], count: int, **kwargs: object) -> list[int]:
    """One run for each of `count` jobs, oldest first, so that the queue lists them in order."""
    ids = []
    for index in range(count):
        started = NOW - timedelta(hours=count - index)
        ids += add_runs(db, 1, job_name=f"Job {index:02d}", started_at=started, **kwargs)  # type: ignore[arg-type]
    return ids


def _job_of(db: sessionmaker[Session], run_id: int) -> int:
    with db() as session:
        return session.scalars(select(Run.job_id).where(Run.id == run_id)).one()


def _reviewed(db: sessionmaker[Session]) -> dict[int, str]:
    with db() as session:
        rows = session.execute(select(Run.id, Run.review_note).where(Run.reviewed_at.is_not(None)))
        return {run_id: note for run_id, note in rows}


def test_enter_in_the_note_reviews_exactly_the_ticked_rows_with_that_note(
    any_page: Page, base_url: str, db: sessionmaker[Session]
) -> None:
    first, second, third = _jobs(db, 3)
    _sign_in(any_page, base_url, db)
    any_page.goto(f"{base_url}/run-checks")

    any_page.locator(f"#job-{_job_of(db, second)} > input[type=checkbox]").check()
    any_page.locator(f"#job-{_job_of(db, third)} summary").click()
    any_page.get_by_label(f"Select run {third}").check()
    note = any_page.get_by_label("Note")
    note.fill("checked with the customer")
    note.press("Enter")

    expect(any_page.get_by_role("status")).to_have_text("Reviewed 2 runs.")
    assert _reviewed(db) == dict.fromkeys([second, third], "checked with the customer")
    expect(any_page.locator(f"#job-{_job_of(db, first)}")).to_be_visible()


def test_enter_with_nothing_ticked_reviews_nothing(
    any_page: Page, base_url: str, db: sessionmaker[Session]
) -> None:
    _jobs(db, 2)
    _sign_in(any_page, base_url, db)
    any_page.goto(f"{base_url}/run-checks")

    any_page.get_by_label("Note").fill("meant for the ticked ones")
    any_page.get_by_label("Note").press("Enter")

    expect(any_page.get_by_role("status")).to_have_text("Select at least one run or job to review.")
    expect(any_page.get_by_label("Note")).to_have_value("meant for the ticked ones")
    assert _reviewed(db) == {}


def test_select_all_on_the_page_then_review_selected_empties_the_queue(
    any_page: Page, base_url: str, db: sessionmaker[Session]
) -> None:
    ids = _jobs(db, 4)
    _sign_in(any_page, base_url, db)
    any_page.goto(f"{base_url}/run-checks")

    if any_page.get_by_label("All on this page").is_visible():
        any_page.get_by_label("All on this page").check()
        expect(any_page.get_by_text("4 jobs selected")).to_be_visible()
    else:  # without script: a link that shows the page with every row ticked
        any_page.get_by_role("link", name="Select all on this page").click()
    expect(any_page.locator("li.rc-job > input[type=checkbox]:checked")).to_have_count(4)
    any_page.get_by_role("button", name="Review selected").click()

    expect(any_page.get_by_role("status")).to_have_text("Reviewed 4 runs.")
    expect(any_page.get_by_text("Nothing to review. Well done.")).to_be_visible()
    assert sorted(_reviewed(db)) == sorted(ids)


def test_review_all_matching_shows_the_count_and_asks_once(
    any_page: Page, base_url: str, db: sessionmaker[Session]
) -> None:
    errors = _jobs(db, 3, status=RunStatus.ERROR)
    fine = add_runs(db, 2, job_name="Fine", status=RunStatus.SUCCESS)
    _sign_in(any_page, base_url, db)
    any_page.goto(f"{base_url}/run-checks")
    filters = any_page.get_by_role("search", name="Filter runs")
    filters.get_by_role("checkbox", name="Error").check()
    filters.get_by_role("button", name="Filter").click()

    any_page.get_by_role("button", name="Review all 3 matching…").click()
    expect(any_page.get_by_role("heading", name="Review all matching runs")).to_be_visible()
    expect(any_page.get_by_text("waiting for review match: status Error.")).to_be_visible()
    assert _reviewed(db) == {}
    any_page.get_by_label("Note for these runs (optional)").fill("storage vendor ticket 4411")
    any_page.get_by_role("button", name="Review 3 runs").click()

    expect(any_page.get_by_role("status")).to_have_text("Reviewed 3 runs.")
    assert _reviewed(db) == {run_id: "storage vendor ticket 4411" for run_id in errors}
    any_page.goto(f"{base_url}/run-checks")
    expect(any_page.get_by_text(f"{len(fine)} runs waiting for review.")).to_be_visible()


def test_undo_brings_a_review_back_into_the_queue(
    any_page: Page, base_url: str, db: sessionmaker[Session]
) -> None:
    [first, second] = _jobs(db, 2)
    _sign_in(any_page, base_url, db)
    any_page.goto(f"{base_url}/run-checks")
    job = any_page.locator(f"#job-{_job_of(db, first)}")

    job.get_by_role("button", name=re.compile("^Review 1 run")).click()
    expect(any_page.get_by_role("status")).to_have_text("Reviewed 1 run.")
    expect(job).to_have_count(0)
    any_page.get_by_role("button", name="Undo").click()

    expect(any_page.get_by_role("status")).to_have_text(
        "Review taken back: 1 run waiting for review again."
    )
    expect(job).to_be_visible()
    assert _reviewed(db) == {}
    assert second
    with db() as session:  # both the review and taking it back are on the record, by whom
        audited = session.execute(
            select(AuditEvent.action, AuditEvent.actor).order_by(AuditEvent.id)
        )
        assert [tuple(row) for row in audited][-2:] == [
            ("runs.review", OPERATOR),
            ("runs.unreview", OPERATOR),
        ]


def test_filters_without_dates_on_run_checks_the_audit_log_and_daily_jobs(
    page: Page, base_url: str, db: sessionmaker[Session]
) -> None:
    [failed] = add_runs(db, 1, status=RunStatus.FAILED)
    [ok] = add_runs(db, 1, job_name="Fine", status=RunStatus.SUCCESS)
    _sign_in(page, base_url, db, Role.ADMIN, "root")
    page.goto(f"{base_url}/run-checks")

    filters = page.get_by_role("search", name="Filter runs")
    expect(filters.get_by_label("Customer")).to_have_value("")
    expect(filters.get_by_label("From")).to_have_value("")
    filters.get_by_role("checkbox", name="Failed").check()
    filters.get_by_role("button", name="Filter").click()

    expect(page).to_have_url(re.compile(r"status=failed.*date_from=&"))
    expect(page.get_by_text("1 run waiting for review.")).to_be_visible()
    expect(page.locator(f"#run-{failed}")).to_be_attached()
    expect(page.locator(f"#run-{ok}")).to_have_count(0)

    page.goto(f"{base_url}/admin/audit")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"date_from=&date_to="))
    expect(page.get_by_role("heading", name="Audit log")).to_be_visible()

    page.goto(f"{base_url}/daily-jobs")
    page.get_by_label("Date").fill("")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"day=(&|$)"))
    expect(page.get_by_role("heading", name=re.compile("^Daily Jobs"))).to_be_visible()


def test_the_message_stands_where_the_reviewed_job_was_far_down_the_page(
    page: Page, base_url: str, db: sessionmaker[Session]
) -> None:
    ids = _jobs(db, 50)
    _sign_in(page, base_url, db)
    page.goto(f"{base_url}/run-checks")
    target = page.locator(f"#job-{_job_of(db, ids[47])}")
    target.scroll_into_view_if_needed()

    target.get_by_role("button", name=re.compile("^Review")).click()

    message = page.get_by_role("status")
    expect(message).to_have_text("Reviewed 1 run.")
    expect(message).to_be_in_viewport()
    before = page.locator(f"#job-{_job_of(db, ids[46])}").bounding_box()
    after = page.locator(f"#job-{_job_of(db, ids[48])}").bounding_box()
    box = message.bounding_box()
    assert before and after and box and before["y"] < box["y"] < after["y"]


def test_keys_move_select_and_review(page: Page, base_url: str, db: sessionmaker[Session]) -> None:
    first, second, third = _jobs(db, 3)
    _sign_in(page, base_url, db)
    page.goto(f"{base_url}/run-checks")
    expect(page.get_by_role("group", name="Review").get_by_text("Keys")).to_be_visible()

    page.keyboard.press("j")
    page.keyboard.press("j")
    expect(page.locator(f"#job-{_job_of(db, second)} summary")).to_be_focused()
    page.keyboard.press("x")
    expect(page.get_by_text("1 job selected")).to_be_visible()
    page.keyboard.press("j")
    page.keyboard.press("r")  # the row under focus: the third job, not the ticked second

    expect(page.get_by_role("status")).to_have_text("Reviewed 1 run.")
    assert set(_reviewed(db)) == {third}
    page.keyboard.press("/")
    expect(page.get_by_label("Search")).to_be_focused()
    assert first


def test_keys_open_a_job_and_its_run_and_review_what_is_ticked(
    page: Page, base_url: str, db: sessionmaker[Session]
) -> None:
    first, second = add_runs(db, 2, job_name="Acme VM Backup")  # one job, two runs
    [other] = add_runs(db, 1, job_name="Acme Offsite Copy", started_at=NOW - timedelta(hours=1))
    [last] = add_runs(db, 1, job_name="Acme File Share", status=RunStatus.WARNING)
    job = _job_of(db, first)
    _sign_in(page, base_url, db)
    page.goto(f"{base_url}/run-checks")
    rows = page.locator("li.rc-job")
    expect(rows).to_have_count(3)
    expect(rows.first).to_have_id(f"job-{job}")  # errors first; this job has waited longest

    page.keyboard.press("j")
    expect(page.locator(f"#job-{job} summary")).to_be_focused()
    page.keyboard.press("Enter")  # opens the job to its runs
    expect(page.locator(f"#job-{job} details")).to_have_attribute("open", "")
    page.keyboard.press("j")  # into the open job: its first run, the older one
    expect(page.locator(f"#run-{second} a[data-open]")).to_be_focused()
    page.keyboard.press("o")  # opens that run
    expect(page).to_have_url(f"{base_url}/jobs/{job}/runs/{second}")

    page.goto(f"{base_url}/run-checks")
    page.keyboard.press("k")  # from nowhere, up lands on the last row
    expect(page.locator(f"#job-{_job_of(db, last)} summary")).to_be_focused()
    page.keyboard.press("x")
    page.keyboard.press("k")
    expect(page.locator(f"#job-{_job_of(db, other)} summary")).to_be_focused()
    page.keyboard.press("o")  # a job row opens the job's history
    expect(page).to_have_url(f"{base_url}/jobs/{_job_of(db, other)}")

    page.goto(f"{base_url}/run-checks")
    page.keyboard.press("a")  # tick every row, then untick the first with x
    page.keyboard.press("j")
    page.keyboard.press("x")
    expect(page.get_by_text("2 jobs selected")).to_be_visible()
    page.keyboard.press("R")  # review what is ticked, not the row under the cursor

    expect(page.get_by_role("status")).to_have_text("Reviewed 2 runs.")
    assert set(_reviewed(db)) == {other, last}


def test_at_least_25_jobs_show_on_a_1440_by_900_screen_with_the_demo_data(
    browser: Browser, settings: Settings, engine: Engine, db: sessionmaker[Session]
) -> None:
    add_user(db, OPERATOR, Role.OPERATOR)
    with db() as session:
        demo.seed(session, NOW)  # about 50 jobs of 12 customers, remarks, every status
        session.commit()
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(EXPECT_TIMEOUT_MS)
    page = context.new_page()
    for base_url in serve(create_app(settings, engine=engine, clock=lambda: NOW)):
        sign_in(page, base_url, OPERATOR, PASSWORD)
        page.goto(f"{base_url}/run-checks")

        rows = page.locator("li.rc-job")
        expect(rows.first).to_be_visible()
        assert rows.count() >= 40
        boxes = [box for box in (row.bounding_box() for row in rows.all()) if box]
        inside = [b for b in boxes if b["y"] >= 0 and b["y"] + b["height"] <= VIEWPORT["height"]]
        assert len(inside) >= 25, f"{len(inside)} job rows fit on a 1440x900 screen"
        screenshot(page, "run-checks", full_page=False)
        rows.first.locator("summary").click()
        screenshot(page, "run-checks-job-open", full_page=False)
    context.close()
