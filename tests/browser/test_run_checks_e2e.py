"""An operator's day in a real browser: sign in, work the Run Checks queue, follow the deep link."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ticketbridge.core.roles import Role
from ticketbridge.core.statuses import RunSource
from ticketbridge.services.accounts import users as accounts
from ticketbridge.services.runs import ingest as run_ingest
from ticketbridge.services.runs.input import RunIn
from ticketbridge.storage.models import Run

pytestmark = pytest.mark.browser

OPERATOR = "olivia.ops"
PASSWORD = "queue-zero-every-morning"
STARTED = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Seeded:
    run_ids: list[int]
    job_id: int


def _seed(factory: sessionmaker[Session]) -> Seeded:
    with factory() as session:
        accounts.create_user(session, OPERATOR, PASSWORD, Role.OPERATOR)
        session.commit()
    runs = [
        ("Acme Logistics", "Acme VM Backup", "error", "Failed to create VM snapshot"),
        ("Acme Logistics", "Acme VM Backup", "warning", "Target disk is almost full"),
        ("Brightwater Dental", "Brightwater NAS to USB", "success", ""),
    ]
    items = [
        RunIn.model_validate(
            {
                "customer": customer,
                "job_name": job,
                "backup_product": "Veeam Backup & Replication",
                "status": status,
                "started_at": (STARTED - timedelta(days=index)).isoformat(),
                "overall_remark": remark,
                "external_id": f"e2e-{index}",
            }
        )
        for index, (customer, job, status, remark) in enumerate(runs)
    ]
    run_ids = [
        r.run_id for r in run_ingest.ingest(factory, items, source=RunSource.API, actor="e2e")
    ]
    with factory() as session:
        job_id = session.scalars(select(Run.job_id).where(Run.id == run_ids[0])).one()
    return Seeded(run_ids, job_id)


def test_operator_reviews_a_run_and_it_leaves_the_queue(
    page: Page, base_url: str, db: sessionmaker[Session]
) -> None:
    seeded = _seed(db)
    reviewed_id, *waiting_ids = seeded.run_ids

    page.goto(f"{base_url}/login")
    page.get_by_label("Username").fill(OPERATOR)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.get_by_text("3 unreviewed runs")).to_be_visible()

    page.get_by_role("navigation").get_by_role("link", name="Run Checks").click()
    expect(page.get_by_role("heading", name="Run Checks")).to_be_visible()
    expect(page.get_by_text("3 runs waiting for review.")).to_be_visible()
    # One row per job; the job expands to its runs.
    job = page.locator(f"#job-{seeded.job_id}")
    expect(job).to_contain_text("Error")
    job.locator("summary").click()
    row = page.locator(f"#run-{reviewed_id}")
    expect(row).to_contain_text("Error")

    row.get_by_role("button", name="Review").click()
    expect(page.get_by_role("status")).to_have_text("Reviewed 1 run.")
    expect(row).to_have_count(0)
    expect(page.get_by_text("2 runs waiting for review.")).to_be_visible()
    # The job acted on stays open with its other run; the other job is one row.
    expect(page.locator(f"#run-{waiting_ids[0]}")).to_be_visible()
    expect(page.locator("li.rc-job")).to_have_count(2)

    page.get_by_role("navigation").get_by_role("link", name="Dashboard").click()
    expect(page.get_by_text("2 unreviewed runs")).to_be_visible()

    page.goto(f"{base_url}/jobs/{seeded.job_id}")
    page.locator(f'a[href="/jobs/{seeded.job_id}/runs/{reviewed_id}"]').click()
    expect(page).to_have_url(re.compile(rf"/jobs/{seeded.job_id}/runs/{reviewed_id}$"))
    reviewed = page.locator("dt", has_text="Reviewed").locator("xpath=following-sibling::dd[1]")
    expect(reviewed).to_contain_text(OPERATOR)
    expect(page.get_by_role("button", name="Mark reviewed")).to_have_count(0)
