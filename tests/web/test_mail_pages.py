"""Inbox, mail, raw download, mail rules, Daily Jobs and the job schedule in the browser UI."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from tests.factories import NOW, add_runs, add_user, csrf_of, login
from tests.services.mail_support import fixture, report_mail
from ticketbridge.core.roles import Role
from ticketbridge.core.statuses import RunStatus
from ticketbridge.services.mail import intake as mail_intake
from ticketbridge.services.runs import catalog
from ticketbridge.storage.models import AuditEvent, Job, MailMessage, MailRule, Run

HTML_MAIL = (
    b"From: nas@acme.example\r\nSubject: Odd report\r\nMessage-ID: <html-1@acme.example>\r\n"
    b"Date: Mon, 02 Jun 2025 10:00:00 +0000\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
    b"<p>Hello <b>there</b></p><script>alert('x')</script>"
    b"<img src='http://tracker.example/p.gif'><a href='javascript:alert(1)' onclick='x()'>x</a>"
)


def _signed_in(app: FastAPI, db: sessionmaker[Session], role: Role = Role.OPERATOR) -> TestClient:
    add_user(db, f"ui-{role.value}", role)
    client = TestClient(app)
    assert login(client, f"ui-{role.value}").status_code == 303
    return client


def _csrf(client: TestClient, page: str = "/inbox") -> str:
    return csrf_of(client.get(page).text)


def _store(db: sessionmaker[Session], raw: bytes) -> int:
    with db() as session:
        accepted = mail_intake.accept(session, raw, now=NOW)
        session.commit()
        return accepted.mail_id


def test_upload_then_approve_in_the_inbox_makes_a_run(
    app: FastAPI, db: sessionmaker[Session]
) -> None:
    client = _signed_in(app, db)
    with db() as session:
        customer_id = catalog.create_customer(session, "Acme", actor="t").id
        session.commit()
    token = _csrf(client)
    uploaded = client.post(
        "/inbox/upload",
        data={"csrf_token": token},
        files=[("files", ("a.eml", report_mail(1), "message/rfc822"))],
        follow_redirects=False,
    )
    assert uploaded.status_code == 303
    page = client.get("/inbox")
    assert "1 mail(s) uploaded: 1 new" in page.text
    assert "Backup job Nightly" in page.text and "Waiting for approval (1)" in page.text
    with db() as session:
        mail_id = session.scalars(select(MailMessage.id)).one()
    approved = client.post(
        f"/inbox/{mail_id}/approve",
        data={"csrf_token": token, "customer_id": str(customer_id)},
        follow_redirects=False,
    )
    assert approved.status_code == 303
    assert "Waiting for approval (0)" in client.get("/inbox").text
    with db() as session:
        [run] = session.scalars(select(Run)).all()
        assert run.job.customer_id == customer_id


def test_ignore_asks_first_then_moves_the_mail_to_the_ignored_lane_where_restore_undoes_it(
    app: FastAPI, db: sessionmaker[Session]
) -> None:
    mail_id = _store(db, fixture("generic/newsletter-no-parser"))
    client = _signed_in(app, db)
    lane = client.get("/inbox?lane=could_not_tell").text
    assert "Could not tell (1)" in lane and f'href="/inbox/{mail_id}/ignore"' in lane
    token = _csrf(client)

    unconfirmed = client.post(
        f"/inbox/{mail_id}/ignore", data={"csrf_token": token}, follow_redirects=False
    )
    assert unconfirmed.headers["location"] == f"/inbox/{mail_id}/ignore"
    assert "Could not tell (1)" in client.get("/inbox?lane=could_not_tell").text
    confirm = client.get(f"/inbox/{mail_id}/ignore").text
    assert "Ignore this mail?" in confirm and 'name="confirm" value="yes"' in confirm

    ignored = client.post(f"/inbox/{mail_id}/ignore", data={"csrf_token": token, "confirm": "yes"})
    assert "Could not tell (0)" in ignored.text and "Ignored (1)" in ignored.text
    assert "is in the Ignored lane, where Restore undoes it" in ignored.text
    lane = client.get("/inbox?lane=ignored").text
    assert f'action="/inbox/{mail_id}/restore"' in lane and "by ui-operator" in lane
    assert "from Could not tell" in lane

    restored = client.post(f"/inbox/{mail_id}/restore", data={"csrf_token": token})
    assert "back in Could not tell" in restored.text and "Ignored (0)" in restored.text
    assert "Could not tell (1)" in restored.text
    with db() as session:
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.subject == f"mail {mail_id}")
        ).all()
    assert list(actions) == ["inbox.ignore", "inbox.restore"]


def test_approving_chooses_no_customer_for_the_operator(
    app: FastAPI, db: sessionmaker[Session]
) -> None:
    mail_id = _store(db, report_mail(1))
    with db() as session:
        catalog.create_customer(session, "Acme", actor="t")
        catalog.create_customer(session, "Brightwater", actor="t")
        session.commit()
    client = _signed_in(app, db)
    for page in (client.get("/inbox").text, client.get(f"/inbox/{mail_id}").text):
        select_html = page[page.index('name="customer_id"') : page.index("</select>")]
        assert '<option value="" selected>Choose a customer…</option>' in select_html
        assert select_html.count("selected") == 1

    refused = client.post(
        f"/inbox/{mail_id}/approve", data={"csrf_token": _csrf(client), "customer_id": ""}
    )
    assert "Not approved: choose the customer this mail belongs to." in refused.text
    with db() as session:
        assert session.scalars(select(Run)).all() == []
        mail = session.get(MailMessage, mail_id)
        assert mail is not None and mail.awaiting_approval


def test_a_failed_upload_is_listed_by_its_file_name_with_the_reason(
    app: FastAPI, db: sessionmaker[Session]
) -> None:
    client = _signed_in(app, db)
    uploaded = client.post(
        "/inbox/upload",
        data={"csrf_token": _csrf(client)},
        files=[
            ("files", ("nightly-report.eml", report_mail(1), "message/rfc822")),
            ("files", ("scanner-garbage.eml", b"just some bytes\n", "message/rfc822")),
        ],
    )
    said = "1 could not be read (in the Failed lane): scanner-garbage.eml: no mail headers found"
    assert said in uploaded.text
    lane = client.get("/inbox?lane=failed").text
    assert "scanner-garbage.eml" in lane and "(no subject)" not in lane
    assert "no mail headers found" in lane
    with db() as session:
        failed = session.scalars(select(MailMessage).where(MailMessage.state == "failed")).one()
        assert failed.filename == "scanner-garbage.eml"
    assert "scanner-garbage.eml" in client.get(f"/inbox/{failed.id}").text


def test_a_reporter_sees_the_inbox_but_cannot_approve(
    app: FastAPI, db: sessionmaker[Session]
) -> None:
    mail_id = _store(db, report_mail(1))
    client = _signed_in(app, db, Role.REPORTER)
    page = client.get("/inbox")
    assert "Backup job Nightly" in page.text
    assert f"/inbox/{mail_id}/ignore" not in page.text
    response = client.post(f"/inbox/{mail_id}/ignore", data={"csrf_token": _csrf(client)})
    assert response.status_code == 403


def test_raw_mail_downloads_as_an_attachment_never_as_a_page(
    app: FastAPI, db: sessionmaker[Session]
) -> None:
    mail_id = _store(db, HTML_MAIL)
    client = _signed_in(app, db)
    response = client.get(f"/inbox/{mail_id}/raw")
    assert response.status_code == 200 and response.content == HTML_MAIL
    assert response.headers["content-disposition"] == f'attachment; filename="mail-{mail_id}.eml"'
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_mail_html_is_shown_sanitized(app: FastAPI, db: sessionmaker[Session]) -> None:
    mail_id = _store(db, HTML_MAIL)
    client = _signed_in(app, db)
    page = client.get(f"/inbox/{mail_id}?view=html").text
    assert "<b>there</b>" in page
    assert "<script>alert" not in page and "tracker.example" not in page
    assert "javascript:" not in page and "onclick" not in page
    text_view = client.get(f"/inbox/{mail_id}").text
    assert "<b>there</b>" not in text_view


def test_a_mail_run_links_to_its_raw_mail(app: FastAPI, db: sessionmaker[Session]) -> None:
    with db() as session:
        customer = catalog.create_customer(session, "Acme", actor="t")
        session.add(MailRule(sender="acme.example", subject_pattern="", customer_id=customer.id))
        accepted = mail_intake.accept(session, report_mail(1), now=NOW)
        session.commit()
    [run_id] = accepted.run_ids
    client = _signed_in(app, db)
    page = client.get(f"/jobs/0/runs/{run_id}", follow_redirects=True)
    assert f"/runs/{run_id}/mail.eml" in page.text
    download = client.get(f"/runs/{run_id}/mail.eml")
    assert download.status_code == 200 and download.content == report_mail(1)
    assert download.headers["content-disposition"].startswith("attachment;")


def test_a_purged_mail_download_says_gone(app: FastAPI, db: sessionmaker[Session]) -> None:
    with db() as session:
        accepted = mail_intake.accept(
            session, report_mail(1), now=NOW, received_at=NOW - timedelta(days=400)
        )
        mail_intake.purge(session, now=NOW, retention_days=30)
        session.commit()
    client = _signed_in(app, db)
    assert client.get(f"/inbox/{accepted.mail_id}/raw").status_code == 410


def test_an_admin_adds_and_deletes_a_matching_rule(app: FastAPI, db: sessionmaker[Session]) -> None:
    with db() as session:
        customer_id = catalog.create_customer(session, "Acme", actor="t").id
        session.commit()
    client = _signed_in(app, db, Role.ADMIN)
    token = _csrf(client, "/admin/mail-rules")
    client.post(
        "/admin/mail-rules",
        data={"csrf_token": token, "sender": "acme.example", "customer_id": str(customer_id)},
    )
    assert "acme.example" in client.get("/admin/mail-rules").text
    with db() as session:
        rule_id = session.scalars(select(MailRule.id)).one()
    client.post(f"/admin/mail-rules/{rule_id}/delete", data={"csrf_token": token})
    with db() as session:
        assert session.scalars(select(MailRule)).all() == []


def test_daily_jobs_shows_each_expected_job_with_its_result_or_missed(
    app: FastAPI, db: sessionmaker[Session]
) -> None:
    # Daily at 01:00 UTC up to yesterday (NOW is 2026-11-20 12:00 UTC); nothing today.
    add_runs(db, 8, started_at=NOW - timedelta(days=1, hours=11), status=RunStatus.SUCCESS)
    client = _signed_in(app, db)
    yesterday = client.get("/daily-jobs?day=2026-11-19").text
    assert "Acme VM Backup" in yesterday and "s-success" in yesterday
    today = client.get("/daily-jobs?day=2026-11-20").text
    assert "Acme VM Backup" in today and "s-missed" in today
    assert "pending" in client.get("/daily-jobs?day=2026-11-21").text


def test_an_operator_declares_a_schedule_and_opts_out_on_job_details(
    app: FastAPI, db: sessionmaker[Session]
) -> None:
    add_runs(db, 1)
    with db() as session:
        job_id = session.scalars(select(Job.id)).one()
    client = _signed_in(app, db)
    token = _csrf(client, f"/jobs/{job_id}")
    client.post(
        f"/jobs/{job_id}/schedule",
        data={
            "csrf_token": token,
            "cron": "0 22 * * 1-5",
            "timezone": "UTC",
            "grace_minutes": "60",
        },
    )
    page = client.get(f"/jobs/{job_id}").text
    assert "cron 0 22 * * 1-5 (UTC), grace 60 min" in page
    client.post(
        f"/jobs/{job_id}/schedule",
        data={"csrf_token": token, "cron": "", "timezone": "UTC", "opt_out": "true"},
    )
    page = client.get(f"/jobs/{job_id}").text
    assert "off (opted out)" in page
    refused = client.post(
        f"/jobs/{job_id}/schedule", data={"csrf_token": token, "cron": "bogus", "timezone": "UTC"}
    )
    assert refused.status_code == 200 and "not a five-field cron expression" in refused.text
