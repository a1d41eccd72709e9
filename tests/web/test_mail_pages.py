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
from ticketbridge.services import catalog, mail_intake
from ticketbridge.storage.models import Job, MailMessage, MailRule, Run

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


def test_ignore_is_an_explicit_action_in_the_could_not_tell_lane(
    app: FastAPI, db: sessionmaker[Session]
) -> None:
    mail_id = _store(db, fixture("generic/newsletter-no-parser"))
    client = _signed_in(app, db)
    assert "Could not tell (1)" in client.get("/inbox?lane=could_not_tell").text
    client.post(f"/inbox/{mail_id}/ignore", data={"csrf_token": _csrf(client)})
    assert "Could not tell (0)" in client.get("/inbox?lane=could_not_tell").text


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


def test_an_admin_creates_a_mail_source_and_never_sees_its_secret(
    app: FastAPI, db: sessionmaker[Session]
) -> None:
    client = _signed_in(app, db, Role.ADMIN)
    token = _csrf(client, "/admin/mail-sources")
    client.post(
        "/admin/mail-sources",
        data={
            "csrf_token": token,
            "kind": "imap",
            "name": "Backups",
            "config": '{"host": "127.0.0.1", "security": "plain", "username": "u"}',
            "secret": "hunter2-secret",
            "enabled": "true",
        },
    )
    page = client.get("/admin/mail-sources").text
    assert "Backups" in page and "hunter2-secret" not in page
    assert "set: leave empty to keep" in page
    bad = client.post(
        "/admin/mail-sources",
        data={"csrf_token": token, "kind": "imap", "name": "Broken", "config": "{not json"},
    )
    assert bad.status_code == 200 and "config is not valid JSON" in bad.text


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
