"""Mail sources (a form per kind, every problem at once, what was typed kept, Test connection)
and mail rules (applied to waiting mail on request) in the admin pages."""

from __future__ import annotations

import re
import socket

from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from tests.factories import NOW, add_user, csrf_of, login
from tests.services.dovecot import DovecotServer, dovecot
from tests.services.mail_support import report_mail
from ticketbridge.core.roles import Role
from ticketbridge.services.mail import intake as mail_intake
from ticketbridge.services.mail import sources as mail_sources
from ticketbridge.services.runs import catalog
from ticketbridge.storage.models import (
    AuditEvent,
    MailMessage,
    MailRule,
    MailSource,
    MailSubscription,
    Run,
)

__all__ = ["dovecot"]

SOURCES = "/admin/mail-sources"


def _admin(app: FastAPI, db: sessionmaker[Session]) -> tuple[TestClient, str]:
    add_user(db, "root", Role.ADMIN)
    client = TestClient(app)
    assert login(client, "root").status_code == 303
    return client, csrf_of(client.get(SOURCES).text)


def _value(page: str, name: str) -> str:
    found = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', page)
    assert found, name
    return found.group(1)


def _error(page: str, field: str) -> str:
    found = re.search(rf'<span class="field-error" id="err-{field}">([^<]*)</span>', page)
    assert found, field
    return found.group(1)


def test_each_kind_has_its_own_form_built_from_its_settings(
    app: FastAPI, db: sessionmaker[Session]
) -> None:
    client, _ = _admin(app, db)
    imap = client.get(f"{SOURCES}/new?kind=imap").text
    assert "New IMAP mailbox" in imap and 'name="config.host"' in imap
    assert '<option value="tls" selected>tls</option>' in imap
    assert 'name="config.verify_tls" value="true" checked' in imap
    assert _value(imap, "config.folder") == "INBOX"
    assert 'type="password" name="secret"' in imap and "config.password" not in imap
    assert "Test connection" in imap and "Raw" not in imap and "JSON" not in imap
    graph = client.get(f"{SOURCES}/new?kind=graph").text
    assert "Tenant ID" in graph and "Client secret" in graph and 'name="config.mailbox"' in graph
    smtp = client.get(f"{SOURCES}/new?kind=smtp").text
    assert '<textarea id="f-accepted_recipients" name="config.accepted_recipients"' in smtp
    assert 'name="secret"' not in smtp
    listing = client.get(SOURCES).text
    for kind in ("imap", "graph", "smtp", "upload"):
        assert f'href="{SOURCES}/new?kind={kind}"' in listing


def test_a_refused_source_shows_every_problem_at_its_field_and_keeps_what_was_typed(
    app: FastAPI, db: sessionmaker[Session]
) -> None:
    client, token = _admin(app, db)
    refused = client.post(
        SOURCES,
        data={
            "csrf_token": token,
            "kind": "imap",
            "name": "",
            "config.host": "",
            "config.port": "99999",
            "config.security": "starttls",
            "config.username": "",
            "config.folder": "Reports",
            "config.batch_size": "lots",
            "secret": "hunter2-secret",
            "enabled": "true",
        },
    )
    page = refused.text
    assert refused.status_code == 422
    assert "Not saved: 5 field(s) to correct." in page
    assert _error(page, "name") == "a name of 1 to 200 characters is required"
    assert _error(page, "host") == "required"
    assert _error(page, "port") == "Input should be less than or equal to 65535"
    assert _error(page, "username") == "required"
    assert _error(page, "batch_size").startswith("Input should be a valid integer")
    assert 'aria-invalid="true"' in page and '<details class="advanced" open>' in page
    assert _value(page, "config.port") == "99999" and _value(page, "config.folder") == "Reports"
    assert '<option value="starttls" selected>' in page
    assert "hunter2-secret" not in page
    with db() as session:
        assert session.scalar(select(func.count(MailSource.id))) == 0


def test_an_admin_creates_edits_a_source_and_never_sees_its_secret(
    app: FastAPI, db: sessionmaker[Session]
) -> None:
    client, token = _admin(app, db)
    created = client.post(
        SOURCES,
        data={
            "csrf_token": token,
            "kind": "imap",
            "name": "Backups",
            "config.host": "127.0.0.1",
            "config.security": "plain",
            "config.username": "u",
            "config.verify_tls": "true",
            "secret": "hunter2-secret",
            "enabled": "true",
        },
        follow_redirects=False,
    )
    assert created.status_code == 303
    with db() as session:
        source = session.scalars(select(MailSource)).one()
        assert source.config == {
            "host": "127.0.0.1",
            "security": "plain",
            "username": "u",
            "verify_tls": True,
        }
    page = client.get(f"{SOURCES}/{source.id}").text
    assert "Backups" in page and "hunter2-secret" not in page
    assert "set: leave empty to keep" in page and _value(page, "config.host") == "127.0.0.1"
    assert "set" in client.get(SOURCES).text
    client.post(
        f"{SOURCES}/{source.id}",
        data={
            "csrf_token": token,
            "name": "Backups",
            "config.host": "127.0.0.1",
            "config.security": "plain",
            "config.username": "u",
            "config.verify_tls": "true",
            "config.folder": "Reports",
            "enabled": "true",
        },
    )
    with db() as session:
        stored = mail_sources.get_source(session, source.id)
        assert stored.config["folder"] == "Reports" and stored.secret


def test_test_connection_signs_in_with_what_is_typed_and_saves_nothing(
    app: FastAPI, db: sessionmaker[Session], dovecot: DovecotServer
) -> None:
    user, password = dovecot.add_user()
    client, token = _admin(app, db)
    form = {
        "csrf_token": token,
        "kind": "imap",
        "name": "Dovecot",
        "config.host": dovecot.host,
        "config.port": str(dovecot.port),
        "config.security": "plain",
        "config.username": user,
        "enabled": "true",
    }
    tested = client.post(f"{SOURCES}/test", data=form | {"secret": password})
    assert tested.status_code == 200
    assert "Test connection: ok" in tested.text and "INBOX: 0 message(s)" in tested.text
    assert _value(tested.text, "config.username") == user and password not in tested.text
    wrong = client.post(f"{SOURCES}/test", data=form | {"secret": "wrong"})
    assert "Test connection: failed" in wrong.text
    assert "refused the username or password" in wrong.text
    with db() as session:
        assert session.scalar(select(func.count(MailSource.id))) == 0

    client.post(SOURCES, data=form | {"secret": password})
    with db() as session:
        source_id = session.scalars(select(MailSource.id)).one()
    again = client.post(f"{SOURCES}/{source_id}/test", data=form)  # the stored password
    assert "Test connection: ok" in again.text
    moved = client.post(f"{SOURCES}/{source_id}/test", data=form | {"config.port": "1"})
    assert moved.status_code == 422 and "Not tested: 1 field(s)" in moved.text
    assert "enter the password to test" in _error(moved.text, "secret")


def test_test_connection_of_an_smtp_receiver_says_whether_it_could_listen(
    app: FastAPI, db: sessionmaker[Session]
) -> None:
    client, token = _admin(app, db)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        page = client.post(
            f"{SOURCES}/test",
            data={
                "csrf_token": token,
                "kind": "smtp",
                "name": "",
                "config.host": "127.0.0.1",
                "config.port": str(port),
                "config.accepted_recipients": "intake@msp.example",
            },
        ).text
    assert "Test connection: failed" in page and "cannot listen there" in page
    assert "intake@msp.example" in page


def test_a_new_rule_offers_to_apply_to_the_mail_already_waiting(
    app: FastAPI, db: sessionmaker[Session]
) -> None:
    with db() as session:
        for n in (1, 2):
            mail_intake.accept(session, report_mail(n, job=f"Job {n}"), now=NOW)
        mail_intake.accept(session, report_mail(3, sender="b@globex.example"), now=NOW)
        customer_id = catalog.create_customer(session, "Acme", actor="t").id
        session.commit()
    client, _ = _admin(app, db)
    token = csrf_of(client.get("/admin/mail-rules").text)
    form = client.get("/admin/mail-rules").text
    assert '<option value="" selected>Choose a customer…</option>' in form

    created = client.post(
        "/admin/mail-rules",
        data={"csrf_token": token, "sender": "acme.example", "customer_id": str(customer_id)},
    )

    assert "2 mail(s) waiting in the Inbox match this rule" in created.text
    assert "[Success] Backup job Job 1" in created.text
    assert "Apply to these 2 mail(s)" in created.text
    with db() as session:
        rule_id = session.scalars(select(MailRule.id)).one()
        assert session.scalar(select(func.count(Run.id))) == 0  # nothing moved yet
    applied = client.post(f"/admin/mail-rules/{rule_id}/apply", data={"csrf_token": token})
    assert "Rule applied: 2 waiting mail(s) routed, 2 run(s) stored." in applied.text
    with db() as session:
        waiting = session.scalars(
            select(MailMessage.sender).where(MailMessage.awaiting_approval.is_(True))
        ).all()
        assert waiting == ["b@globex.example"]
        assert session.scalar(
            select(func.count(AuditEvent.id)).where(AuditEvent.action == "mail_rule.apply")
        )
    offer = client.get(f"/admin/mail-rules?offer={rule_id}").text
    assert "No mail waiting in the Inbox matches this rule" in offer


def test_a_rule_without_a_customer_is_refused_and_keeps_what_was_typed(
    app: FastAPI, db: sessionmaker[Session]
) -> None:
    client, _ = _admin(app, db)
    token = csrf_of(client.get("/admin/mail-rules").text)
    refused = client.post(
        "/admin/mail-rules",
        data={"csrf_token": token, "sender": "acme.example", "subject_pattern": "*ACME*"},
    )
    assert refused.status_code == 422
    assert "Not created: choose the customer the mail belongs to" in refused.text
    assert 'value="acme.example"' in refused.text and 'value="*ACME*"' in refused.text


def test_the_sources_page_says_how_each_source_is_told_of_new_mail(
    app: FastAPI, db: sessionmaker[Session]
) -> None:
    client, _ = _admin(app, db)
    with db() as session:
        for name, remote_id, error in (
            ("Desk 365", "sub-1", ""),
            ("Other 365", None, "Subscription validation request failed."),
        ):
            source = mail_sources.create_source(
                session,
                app.state.ctx.secret_box,
                kind="graph",
                name=name,
                config={"tenant_id": "t", "client_id": "c", "mailbox": "desk@example.com"},
                secret="client-secret",
                actor="test",
            )
            session.flush()
            session.add(
                MailSubscription(
                    source_id=source.id,
                    remote_id=remote_id,
                    client_state="encrypted",
                    notification_url="https://tickets.example.com/hooks/graph/notifications/1",
                    expires_at=NOW if remote_id else None,
                    last_error=error,
                )
            )
        session.commit()

    page = client.get(SOURCES).text

    assert "change notifications until" in page
    assert "change notifications: Subscription validation request failed." in page
