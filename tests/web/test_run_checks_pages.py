"""Run Checks over HTTP: filters with empty values, selection of runs and jobs, review all
matching (confirmed), review all successes, Undo, where the message stands, cursors."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from tests.factories import NOW, add_runs, add_user, csrf_of, login
from ticketbridge.core.roles import Role
from ticketbridge.core.statuses import RunStatus
from ticketbridge.storage.models import AuditEvent, Run


def _client(app: FastAPI, db: sessionmaker[Session], name: str = "olivia",
            role: Role = Role.OPERATOR) -> TestClient:  # fmt: skip
    add_user(db, name, role)
    client = TestClient(app)
    assert login(client, name).status_code == 303
    return client


def _hidden(page: str, name: str, form: str = "review-form") -> str:
    section = page.split(f'id="{form}"', 1)[1]
    found = re.search(rf'name="{name}" value="([^"]*)"', section)
    assert found is not None, name
    return html.unescape(found.group(1))


def _post(client: TestClient, page: str, **data: Any) -> Any:
    """Submit the review form of `page` as a browser would, with `data` on top."""
    form = {
        "csrf_token": csrf_of(page),
        "filter": _hidden(page, "filter"),
        "upto": _hidden(page, "upto"),
        "return_to": _hidden(page, "return_to"),
        **data,
    }
    return client.post("/run-checks/review", data=form, follow_redirects=False)


def _reviewed(db: sessionmaker[Session]) -> dict[int, tuple[str | None, str]]:
    with db() as session:
        return {
            run.id: (run.reviewed_by, run.review_note)
            for run in session.scalars(select(Run).where(Run.reviewed_at.is_not(None)))
        }


def test_empty_values_mean_no_bound_on_every_filtered_page(
    app: FastAPI, db: sessionmaker[Session]
) -> None:
    [failed] = add_runs(db, 1, status=RunStatus.FAILED)
    add_runs(db, 1, job_name="Other", status=RunStatus.SUCCESS)
    client = _client(app, db, "root", Role.ADMIN)
    blank = "customer_id=&job_id=&product=&date_from=&date_to=&reviewed=&q=&sort=&view=&cursor="

    page = client.get(f"/run-checks?status=failed&status=&{blank}")
    audit = client.get("/admin/audit?actor=&action=&outcome=&date_from=&date_to=")
    daily = client.get("/daily-jobs?day=")

    assert page.status_code == 200, page.text[-300:]
    assert f'id="run-{failed}"' in page.text
    assert "1 run waiting for review." in page.text
    assert audit.status_code == 200 and daily.status_code == 200


def test_any_combination_of_filters_and_the_search_is_kept_in_every_link(
    app: FastAPI, db: sessionmaker[Session]
) -> None:
    add_runs(db, 60, status=RunStatus.ERROR, step=timedelta(hours=-1))
    client = _client(app, db)
    query = {"q": "snapshot", "status": ["error", "failed"], "date_to": "2026-11-20",
             "view": "runs", "sort": "newest"}  # fmt: skip

    page = client.get("/run-checks", params=query).text

    assert page.count('<tr id="run-') == 50
    kept = parse_qs(_hidden(page, "filter"))
    assert kept == {"q": ["snapshot"], "status": ["error", "failed"],
                    "date_to": ["2026-11-20"], "sort": ["newest"], "view": ["runs"]}  # fmt: skip
    following = re.search(r'href="([^"]+)" rel="next"', page)
    assert following is not None
    nxt = parse_qs(urlsplit(html.unescape(following.group(1))).query)
    assert {k: v for k, v in nxt.items() if k != "cursor"} == kept
    assert client.get(html.unescape(following.group(1))).text.count('<tr id="run-') == 10


def test_a_cursor_that_is_not_ours_is_refused_and_the_last_page_is_one_click(
    app: FastAPI, db: sessionmaker[Session]
) -> None:
    add_runs(db, 55, step=timedelta(hours=-1))
    client = _client(app, db)

    assert client.get("/run-checks?cursor=bm9wZQ").status_code == 400
    assert client.get("/jobs/1?cursor=bm9wZQ").status_code == 400
    last = client.get("/run-checks?view=runs&cursor=last").text
    history_last = client.get("/jobs/1?cursor=last").text

    assert last.count('<tr id="run-') == 50 and 'rel="prev"' in last and 'rel="next"' not in last
    assert history_last.count("/jobs/1/runs/") == 50 and 'rel="prev"' in history_last


def test_ticked_runs_and_jobs_are_reviewed_with_the_note_and_nothing_else(
    app: FastAPI, db: sessionmaker[Session]
) -> None:
    acme = add_runs(db, 2)
    [lone] = add_runs(db, 1, customer="Brightwater Dental", job_name="BW Backup")
    untouched = add_runs(db, 2, customer="Copperfield", job_name="CF Backup")
    client = _client(app, db)
    page = client.get("/run-checks").text
    with db() as session:
        acme_job = session.get(Run, acme[0]).job_id  # type: ignore[union-attr]
    later = add_runs(db, 1, started_at=NOW - timedelta(hours=5))  # after the page was shown

    done = _post(client, page, job_ids=[str(acme_job)], run_ids=[str(lone)], note="seen")

    assert done.status_code == 303 and done.headers["location"].endswith("#review-message")
    assert _reviewed(db) == {i: ("olivia", "seen") for i in [*acme, lone]}
    after = client.get(done.headers["location"]).text
    assert "Reviewed 3 runs." in after
    for run_id in [*untouched, *later]:
        assert f'id="run-{run_id}"' in after


def test_nothing_ticked_reviews_nothing_and_keeps_the_note(
    app: FastAPI, db: sessionmaker[Session]
) -> None:
    add_runs(db, 2)
    client = _client(app, db)
    page = client.get("/run-checks").text

    done = _post(client, page, note="typed first, ticked nothing", action="selected")
    after = client.get(done.headers["location"]).text

    assert _reviewed(db) == {}
    assert "Select at least one run or job to review." in after
    assert 'value="typed first, ticked nothing"' in after


def test_review_all_matching_asks_first_with_the_count_then_reviews_those_runs(
    app: FastAPI, db: sessionmaker[Session]
) -> None:
    errors = add_runs(db, 3, status=RunStatus.ERROR)
    add_runs(db, 2, job_name="Fine", status=RunStatus.SUCCESS)
    client = _client(app, db)
    page = client.get("/run-checks", params={"status": "error"}).text
    assert "Review all 3 matching…" in page

    asked = _post(client, page, action="matching", note="known issue")
    assert asked.status_code == 303
    assert asked.headers["location"].startswith("/run-checks/confirm?status=error&upto=")
    confirm = client.get(asked.headers["location"]).text
    assert "3 runs</strong> waiting for review match: status Error." in confirm
    assert _reviewed(db) == {}
    add_runs(db, 1, status=RunStatus.ERROR, started_at=NOW - timedelta(days=7))  # arrives now

    done = client.post(
        "/run-checks/review",
        data={
            "csrf_token": csrf_of(confirm),
            "filter": _hidden(confirm, "filter", "confirm-form"),
            "upto": _hidden(confirm, "upto", "confirm-form"),
            "note": "known issue",
            "confirmed": "3",
            "action": "confirmed",
        },
        follow_redirects=False,
    )

    assert _reviewed(db) == {i: ("olivia", "known issue") for i in errors}
    assert "Reviewed 3 runs." in client.get(done.headers["location"]).text
    with db() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "runs.review")).one()
    assert event.details["count"] == 3 and event.details["matching"] == "status Error"


def test_review_all_successes_leaves_the_problems(app: FastAPI, db: sessionmaker[Session]) -> None:
    fine = add_runs(db, 3, status=RunStatus.SUCCESS)
    add_runs(db, 1, job_name="Broken", status=RunStatus.FAILED)
    client = _client(app, db)
    page = client.get("/run-checks").text
    assert "Review all 3 successes" in page

    _post(client, page, action="successes")

    assert set(_reviewed(db)) == set(fine)


def test_undo_puts_a_review_action_back_for_its_reviewer_within_the_grace_period(
    app: FastAPI, db: sessionmaker[Session]
) -> None:
    ids = add_runs(db, 3)
    client = _client(app, db)
    done = _post(client, client.get("/run-checks").text, run_ids=[str(i) for i in ids])
    after = client.get(done.headers["location"]).text
    assert 'form="undo-action-form">Undo</button>' in after

    undone = client.post(
        "/run-checks/unreview",
        data={
            "csrf_token": csrf_of(after),
            "reviewed_at": _hidden(after, "reviewed_at", "undo-action-form"),
            "filter": _hidden(after, "filter", "undo-action-form"),
        },
        follow_redirects=False,
    )

    assert _reviewed(db) == {}
    assert (
        "Review taken back: 3 runs waiting for review again."
        in client.get(undone.headers["location"]).text
    )
    with db() as session:
        actions = list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
    assert actions[-2:] == ["runs.review", "runs.unreview"]


def test_undo_is_offered_and_allowed_only_within_the_grace_period(
    app: FastAPI, db: sessionmaker[Session]
) -> None:
    [run_id] = add_runs(db, 1)
    client = _client(app, db)
    _post(client, client.get("/run-checks").text, only=str(run_id))
    reviewed = client.get("/run-checks?reviewed=yes").text
    assert f'name="run_ids" value="{run_id}">Undo</button>' in reviewed

    app.state.ctx.clock = lambda: NOW + timedelta(minutes=11)
    late = client.get("/run-checks?reviewed=yes").text
    assert f'name="run_ids" value="{run_id}">Undo</button>' not in late
    refused = client.post(
        "/run-checks/unreview",
        data={"csrf_token": csrf_of(late), "run_ids": str(run_id)},
        follow_redirects=False,
    )

    assert "Not undone" in client.get(refused.headers["location"]).text
    assert set(_reviewed(db)) == {run_id}


def test_another_operator_cannot_undo_but_an_admin_can(
    app: FastAPI, db: sessionmaker[Session]
) -> None:
    [run_id] = add_runs(db, 1)
    olivia = _client(app, db)
    _post(olivia, olivia.get("/run-checks").text, only=str(run_id))

    oscar = _client(app, db, "oscar")
    page = oscar.get("/run-checks?reviewed=yes").text
    assert "Undo</button>" not in page
    oscar.post("/run-checks/unreview", data={"csrf_token": csrf_of(page), "run_ids": str(run_id)})
    assert set(_reviewed(db)) == {run_id}

    root = _client(app, db, "root", Role.ADMIN)
    page = root.get("/run-checks?reviewed=yes").text
    assert "Undo</button>" in page
    root.post("/run-checks/unreview", data={"csrf_token": csrf_of(page), "run_ids": str(run_id)})
    assert _reviewed(db) == {}


def test_the_message_stands_where_the_reviewed_job_was(
    app: FastAPI, db: sessionmaker[Session]
) -> None:
    for index in range(5):
        add_runs(db, 1, job_name=f"Job {index}", started_at=NOW - timedelta(days=5 - index))
    client = _client(app, db)
    page = client.get("/run-checks").text
    jobs = re.findall(r'<li class="rc-job" id="job-(\d+)"', page)
    assert len(jobs) == 5

    done = _post(client, page, only_job=jobs[2])
    after = client.get(done.headers["location"]).text

    message = after.index('id="review-message"')
    assert after.index(f'id="job-{jobs[1]}"') < message < after.index(f'id="job-{jobs[3]}"')
    assert f'id="job-{jobs[2]}"' not in after
    assert after.count('class="flash') == 1  # not also at the top of the page


@pytest.mark.parametrize("role", [Role.REPORTER])
def test_readers_get_no_review_form(app: FastAPI, db: sessionmaker[Session], role: Role) -> None:
    add_runs(db, 2)
    page = _client(app, db, "rita", role).get("/run-checks").text

    assert 'id="review-form"' not in page and "Review all" not in page
    assert _client(app, db, "oli").get("/run-checks/confirm").status_code == 200


def test_filters_a_form_carries_that_cannot_be_read_review_nothing(
    app: FastAPI, db: sessionmaker[Session]
) -> None:
    add_runs(db, 3)
    client = _client(app, db)
    page = client.get("/run-checks", params={"status": "error"}).text

    done = _post(client, page, action="confirmed", filter="status=exploded&date_from=soon")

    assert _reviewed(db) == {}
    assert "This page is out of date" in client.get(done.headers["location"]).text


def test_a_long_note_is_not_carried_back_in_the_session_cookie(
    app: FastAPI, db: sessionmaker[Session]
) -> None:
    add_runs(db, 1)
    client = _client(app, db)
    note = "ü" * 2000  # 4,000 bytes: with the rest, more than a browser keeps in a cookie

    done = _post(client, client.get("/run-checks").text, note=note)
    after = client.get(done.headers["location"])

    assert after.status_code == 200 and "Select at least one run or job to review." in after.text
    assert note not in after.text
