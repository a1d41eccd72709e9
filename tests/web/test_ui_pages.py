from __future__ import annotations

import re
from datetime import timedelta

from fastapi import FastAPI
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from tests.factories import NOW, PASSWORD, add_runs, add_user, csrf_of, login
from ticketbridge.core.roles import Role
from ticketbridge.core.statuses import RunStatus
from ticketbridge.storage.models import ApiToken, AuditEvent, Customer, Run


def _signed_in(app: FastAPI, db: sessionmaker[Session], role: Role = Role.OPERATOR) -> TestClient:
    add_user(db, f"ui-{role.value}", role)
    client = TestClient(app)
    assert login(client, f"ui-{role.value}").status_code == 303
    return client


def test_login_with_wrong_password_is_refused_and_audited(
    client: TestClient, db: sessionmaker[Session]
) -> None:
    add_user(db, "Alice", Role.OPERATOR)

    response = login(client, "alice", "wrong-password!")

    assert response.status_code == 401
    assert "wrong password" in response.text
    assert client.get("/", follow_redirects=False).status_code == 303
    with db() as session:
        outcomes = session.scalars(
            select(AuditEvent.outcome).where(AuditEvent.action == "auth.login")
        )
        assert list(outcomes) == ["failed"]


def test_usernames_are_case_insensitive_at_login(
    client: TestClient, db: sessionmaker[Session]
) -> None:
    add_user(db, "Alice", Role.OPERATOR)

    assert login(client, "ALICE").status_code == 303
    assert "<span>Alice <small>(operator)</small></span>" in client.get("/").text


def test_a_form_without_the_csrf_token_is_refused(
    client: TestClient, db: sessionmaker[Session]
) -> None:
    add_user(db, "carol", Role.OPERATOR)

    response = client.post("/login", data={"username": "carol", "password": PASSWORD})

    assert response.status_code == 400
    assert "form expired" in response.text


def test_login_never_redirects_off_site(client: TestClient, db: sessionmaker[Session]) -> None:
    add_user(db, "dave", Role.OPERATOR)
    token = csrf_of(client.get("/login").text)

    response = client.post(
        "/login",
        data={
            "username": "dave",
            "password": PASSWORD,
            "csrf_token": token,
            "next": "https://evil.example/",
        },
        follow_redirects=False,
    )

    assert response.headers["location"] == "/"


def test_login_refuses_next_paths_that_browsers_read_as_another_site(
    app: FastAPI, db: sessionmaker[Session]
) -> None:
    add_user(db, "erin", Role.OPERATOR)

    def login_to(next_path: str) -> str:
        client = TestClient(app)  # signing in clears the session, and with it the form token
        token = csrf_of(client.get("/login").text)
        form = {"username": "erin", "password": PASSWORD, "csrf_token": token, "next": next_path}
        return client.post("/login", data=form, follow_redirects=False).headers["location"]

    for sneaky in ("/\\evil.example/", "/\t/evil.example/", "//evil.example/"):
        assert login_to(sneaky) == "/", sneaky
    assert login_to("/jobs?x=1") == "/jobs?x=1"


def test_review_returns_only_to_a_local_page(app: FastAPI, db: sessionmaker[Session]) -> None:
    [run_id] = add_runs(db, 1)
    client = _signed_in(app, db)
    token = csrf_of(client.get("/run-checks").text)

    response = client.post(
        "/run-checks/review",
        data={"csrf_token": token, "only": str(run_id), "return_to": "/\\evil.example/"},
        follow_redirects=False,
    )

    # Back to Run Checks, scrolled to the message (web/ui/run_checks_pages.py).
    assert response.status_code == 303
    assert response.headers["location"] == "/run-checks#review-message"


def test_logout_ends_the_session(app: FastAPI, db: sessionmaker[Session]) -> None:
    client = _signed_in(app, db)
    token = csrf_of(client.get("/").text)

    client.post("/logout", data={"csrf_token": token})

    assert client.get("/", follow_redirects=False).status_code == 303


def test_dashboard_shows_worst_status_per_customer_and_day(
    app: FastAPI, db: sessionmaker[Session]
) -> None:
    add_runs(db, 1, status=RunStatus.SUCCESS, started_at=NOW - timedelta(hours=2))
    add_runs(
        db, 1, job_name="Second job", status=RunStatus.FAILED, started_at=NOW - timedelta(hours=3)
    )
    add_runs(db, 1, status=RunStatus.WARNING, started_at=NOW - timedelta(days=1, hours=2))
    client = _signed_in(app, db, Role.REPORTER)

    html = client.get("/").text

    row = html[html.index("Acme Logistics") :]
    cells = re.findall(r'<td class="cell s-(\w+)">', row)[:14]
    assert cells[-1] == "failed" and cells[-2] == "warning"
    assert cells[:-2] == ["none"] * 12
    assert "3 unreviewed runs" in html
    assert "date_from=2026-11-20&amp;date_to=2026-11-20" in html


def test_viewer_sees_the_dashboard_without_links_to_runs(
    app: FastAPI, db: sessionmaker[Session]
) -> None:
    add_runs(db, 1, started_at=NOW - timedelta(hours=1))
    client = _signed_in(app, db, Role.VIEWER)

    html = client.get("/").text

    assert "Error" in html
    assert "/run-checks" not in html


def test_run_checks_lists_unreviewed_runs_grouped_and_review_removes_them(
    app: FastAPI, db: sessionmaker[Session]
) -> None:
    first, second = add_runs(db, 2)
    add_runs(db, 1, customer="Brightwater Dental", job_name="BW Backup")
    client = _signed_in(app, db)

    page = client.get("/run-checks").text
    assert page.index("Acme Logistics") < page.index("Brightwater Dental")
    assert f'id="run-{first}"' in page and f'id="run-{second}"' in page

    token = csrf_of(page)
    after = client.post(
        "/run-checks/review",
        data={"csrf_token": token, "run_ids": [str(first), str(second)], "note": "ok"},
    ).text

    assert "Reviewed 2 runs." in after
    assert f'id="run-{first}"' not in after and f'id="run-{second}"' not in after
    with db() as session:
        run = session.get(Run, first)
        assert run is not None and run.reviewed_by == "ui-operator" and run.review_note == "ok"


def test_run_checks_offers_review_controls_only_to_roles_that_may_review(
    app: FastAPI, db: sessionmaker[Session]
) -> None:
    add_runs(db, 2)

    operator = _signed_in(app, db, Role.OPERATOR).get("/run-checks").text
    reporter = _signed_in(app, db, Role.REPORTER).get("/run-checks").text

    assert operator.count('name="run_ids"') == 2 and operator.count('name="only"') == 2
    assert "Review selected" in operator
    assert 'name="run_ids"' not in reporter and 'name="only"' not in reporter
    assert "Review selected" not in reporter


def test_run_checks_filters_by_status_and_date(app: FastAPI, db: sessionmaker[Session]) -> None:
    [ok] = add_runs(db, 1, status=RunStatus.SUCCESS, started_at=NOW)
    [bad] = add_runs(
        db, 1, job_name="Other", status=RunStatus.ERROR, started_at=NOW - timedelta(days=3)
    )
    client = _signed_in(app, db)

    by_status = client.get("/run-checks", params={"status": "success"}).text
    by_date = client.get(
        "/run-checks", params={"date_from": "2026-11-16", "date_to": "2026-11-17"}
    ).text

    assert f'id="run-{ok}"' in by_status and f'id="run-{bad}"' not in by_status
    assert f'id="run-{bad}"' in by_date and f'id="run-{ok}"' not in by_date


def test_run_checks_total_counts_only_the_runs_its_filters_select(
    app: FastAPI, db: sessionmaker[Session]
) -> None:
    add_runs(db, 3)
    add_runs(db, 2, customer="Brightwater Dental", job_name="BW Backup")
    with db() as session:
        brightwater = session.scalar(select(Customer.id).where(Customer.name.like("Bright%")))
    client = _signed_in(app, db)

    def summary(**params: object) -> str:
        page = client.get("/run-checks", params=params).text
        found = re.search(r'<p class="summary">([^<]*)</p>', page)
        assert found is not None
        return found.group(1)

    assert summary() == "5 runs waiting for review."
    assert summary(customer_id=brightwater) == "2 runs waiting for review."
    assert summary(product="Veeam Backup & Replication", reviewed="all") == "5 runs."
    assert summary(product="Another product") == "0 runs waiting for review."


def test_run_checks_pages_fifty_runs_at_a_time_by_cursor(
    app: FastAPI, db: sessionmaker[Session]
) -> None:
    add_runs(db, 60, step=timedelta(hours=-1))
    client = _signed_in(app, db)

    first = client.get("/run-checks", params={"view": "runs"}).text
    found = re.search(r'href="(/run-checks\?[^"]*cursor=[^"]+)" rel="next"', first)
    assert found is not None
    second = client.get(found.group(1).replace("&amp;", "&")).text

    assert first.count('<tr id="run-') == 50 and second.count('<tr id="run-') == 10
    assert 'rel="prev"' in second and 'rel="next"' not in second


def test_job_details_and_the_run_deep_link(app: FastAPI, db: sessionmaker[Session]) -> None:
    [run_id] = add_runs(db, 1)
    client = _signed_in(app, db, Role.REPORTER)
    with db() as session:
        job_id = session.get(Run, run_id).job_id  # type: ignore[union-attr]

    job_page = client.get(f"/jobs/{job_id}").text
    run_page = client.get(f"/jobs/{job_id}/runs/{run_id}").text
    stale = client.get(f"/jobs/{job_id + 100}/runs/{run_id}", follow_redirects=False)

    assert f"/jobs/{job_id}/runs/{run_id}" in job_page
    assert "Failed to create VM snapshot" in run_page and "DC01" in run_page
    assert stale.status_code == 307 and stale.headers["location"] == f"/jobs/{job_id}/runs/{run_id}"
    assert client.get("/jobs/999/runs/999").status_code == 404


def test_job_history_pages_by_cursor_through_every_run_and_jumps_to_the_last(
    app: FastAPI, db: sessionmaker[Session]
) -> None:
    ids = add_runs(db, 120)  # one job, a day apart, newest first
    client = _signed_in(app, db, Role.REPORTER)
    with db() as session:
        job_id = session.get(Run, ids[0]).job_id  # type: ignore[union-attr]
    run_link = rf'href="/jobs/{job_id}/runs/(\d+)"'

    seen: list[int] = []
    url = f"/jobs/{job_id}"
    while url:
        page = client.get(url)
        assert page.status_code == 200
        seen += [int(found) for found in re.findall(run_link, page.text)]
        following = re.search(r'href="([^"]+)" rel="next"', page.text)
        url = following.group(1).replace("&amp;", "&") if following else ""

    assert list(dict.fromkeys(seen)) == ids  # each run once, newest first, over three pages
    last = [
        int(found) for found in re.findall(run_link, client.get(f"/jobs/{job_id}?cursor=last").text)
    ]
    assert ids[-1] in last and ids[0] not in last


def test_times_are_shown_in_the_ui_timezone(app: FastAPI, db: sessionmaker[Session]) -> None:
    [run_id] = add_runs(db, 1)  # 12:00 UTC
    client = _signed_in(app, db, Role.ADMIN)
    token = csrf_of(client.get("/admin/settings").text)

    client.post("/admin/settings", data={"csrf_token": token, "ui_timezone": "Europe/Amsterdam"})

    page = client.get(f"/jobs/1/runs/{run_id}").text
    assert "2026-11-20 13:00:00" in page
    assert "Times shown in Europe/Amsterdam" in page


def test_pages_read_the_ui_timezone_once_per_request(
    app: FastAPI, db: sessionmaker[Session], engine: Engine
) -> None:
    add_runs(db, 3)
    client = _signed_in(app, db)
    reads: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if "system_settings" in statement:
            reads.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        for path in ("/", "/run-checks?date_from=2026-11-01", "/jobs/1", "/daily-jobs"):
            reads.clear()
            assert client.get(path).status_code == 200
            assert len(reads) == 1, path
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_an_unknown_timezone_is_refused(app: FastAPI, db: sessionmaker[Session]) -> None:
    client = _signed_in(app, db, Role.ADMIN)
    token = csrf_of(client.get("/admin/settings").text)

    response = client.post(
        "/admin/settings", data={"csrf_token": token, "ui_timezone": "Mars/Base"}
    )

    assert response.status_code == 422
    assert "unknown timezone" in response.text


def test_a_new_token_is_shown_once_and_only_its_hash_is_kept(
    app: FastAPI, db: sessionmaker[Session]
) -> None:
    client = _signed_in(app, db, Role.ADMIN)
    token = csrf_of(client.get("/admin/tokens").text)

    shown = client.post(
        "/admin/tokens", data={"csrf_token": token, "name": "rmm", "role": "operator"}
    ).text
    value = re.search(r'<code id="new-token">([^<]+)</code>', shown)

    assert value is not None
    assert (
        client.get(
            "/api/v1/jobs", headers={"Authorization": f"Bearer {value.group(1)}"}
        ).status_code
        == 200
    )
    assert value.group(1) not in client.get("/admin/tokens").text
    with db() as session:
        stored = session.scalars(select(ApiToken)).one()
        assert value.group(1).split("_", 2)[2] not in stored.secret_hash


def test_admin_creates_a_user_who_can_then_sign_in(app: FastAPI, db: sessionmaker[Session]) -> None:
    admin = _signed_in(app, db, Role.ADMIN)
    token = csrf_of(admin.get("/admin/users").text)

    admin.post(
        "/admin/users",
        data={
            "csrf_token": token,
            "username": "Erin",
            "password": "long-enough-pw",
            "role": "reporter",
        },
    )
    duplicate = admin.post(
        "/admin/users",
        data={
            "csrf_token": token,
            "username": "erin",
            "password": "long-enough-pw",
            "role": "reporter",
        },
    ).text

    assert "exists already" in duplicate
    erin = TestClient(app)
    assert login(erin, "erin", "long-enough-pw").status_code == 303


def test_admin_cannot_demote_themselves(app: FastAPI, db: sessionmaker[Session]) -> None:
    admin = _signed_in(app, db, Role.ADMIN)
    token = csrf_of(admin.get("/admin/users").text)

    page = admin.post(
        "/admin/users/1", data={"csrf_token": token, "role": "viewer", "active": "true"}
    ).text

    assert "cannot demote" in page


def test_customers_can_be_created_and_renamed(app: FastAPI, db: sessionmaker[Session]) -> None:
    admin = _signed_in(app, db, Role.ADMIN)
    token = csrf_of(admin.get("/customers").text)

    admin.post("/customers", data={"csrf_token": token, "name": "Zeta Corp"})
    admin.post(
        "/customers/1", data={"csrf_token": token, "name": "Zeta Corporation", "active": "true"}
    )

    assert "Zeta Corporation" in admin.get("/customers").text


def test_audit_log_filters_by_action(app: FastAPI, db: sessionmaker[Session]) -> None:
    add_runs(db, 1)
    admin = _signed_in(app, db, Role.ADMIN)

    filtered = admin.get("/admin/audit", params={"action": "runs."}).text
    everything = admin.get("/admin/audit").text

    assert "runs.ingest" in filtered and "auth.login" not in filtered
    assert "auth.login" in everything


def test_audit_log_date_filters_far_out_answer_422_not_a_crash(
    app: FastAPI, db: sessionmaker[Session]
) -> None:
    admin = _signed_in(app, db, Role.ADMIN)

    for day in ("9999-12-31", "0001-01-01"):
        assert admin.get("/admin/audit", params={"date_to": day}).status_code == 422
    assert admin.get("/admin/audit", params={"date_to": "2026-11-20"}).status_code == 200


def test_pages_use_only_local_assets(app: FastAPI, db: sessionmaker[Session]) -> None:
    client = _signed_in(app, db, Role.ADMIN)
    for path in ("/", "/run-checks", "/jobs", "/customers", "/admin/users", "/admin/audit"):
        html = client.get(path).text
        assert not re.search(r'(src|href)="(https?:)?//', html), path


def test_a_rows_review_button_reviews_only_that_row(
    app: FastAPI, db: sessionmaker[Session]
) -> None:
    first, second = add_runs(db, 2)
    client = _signed_in(app, db)
    token = csrf_of(client.get("/run-checks").text)

    client.post(
        "/run-checks/review",
        data={"csrf_token": token, "run_ids": [str(first)], "only": str(second)},
    )

    with db() as session:
        assert session.get(Run, first).reviewed_at is None  # type: ignore[union-attr]
        assert session.get(Run, second).reviewed_at is not None  # type: ignore[union-attr]
