"""IMAP end to end: mail delivered to a real Dovecot becomes stored mail and runs."""

from __future__ import annotations

import pytest
from imapclient import IMAPClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import NOW
from tests.services.dovecot import DovecotServer, dovecot
from tests.services.mail_support import fixture, report_mail
from ticketbridge.services.mail import inbox
from ticketbridge.services.mail import polling as mail_polling
from ticketbridge.services.mail import sources as mail_sources
from ticketbridge.services.runs import catalog
from ticketbridge.services.runtime import Runtime, build_runtime
from ticketbridge.settings import Settings
from ticketbridge.storage.models import MailMessage, MailSource, Run

__all__ = ["dovecot"]


@pytest.fixture
def runtime(settings: Settings, engine: Engine, db: sessionmaker[Session]) -> Runtime:
    return build_runtime(settings, engine=engine, clock=lambda: NOW)


def _source(runtime: Runtime, server: DovecotServer, user: str, password: str) -> int:
    with runtime.session_factory() as session:
        source = mail_sources.create_source(
            session,
            runtime.secret_box,
            kind="imap",
            name=f"Dovecot {user}",
            config={
                "host": server.host,
                "port": server.port,
                "security": "plain",
                "username": user,
                "folder": "INBOX",
                "processed_folder": "Processed",
                "batch_size": 3,
            },
            secret=password,
            actor="test",
        )
        session.commit()
        return source.id


def _count(client: IMAPClient, folder: str) -> int:
    return len(client.select_folder(folder, readonly=True) and client.search(["ALL"]))


def test_mail_in_dovecot_becomes_stored_mail_runs_and_moves_to_processed(
    runtime: Runtime, dovecot: DovecotServer
) -> None:
    user, password = dovecot.add_user()
    client = IMAPClient(dovecot.host, port=dovecot.port, ssl=False, timeout=10)
    client.login(user, password)
    try:
        with runtime.session_factory() as session:
            customer = catalog.create_customer(session, "Acme", actor="test")
            inbox.create_rule(
                session,
                sender="acme.example",
                subject_pattern="",
                customer_id=customer.id,
                actor="test",
            )
            session.commit()
        for n in range(1, 5):
            client.append("INBOX", report_mail(n))
        client.append("INBOX", report_mail(1))  # the same mail again
        client.append("INBOX", fixture("veeam_br/backup-success-three-vms"))
        source_id = _source(runtime, dovecot, user, password)

        result = mail_polling.poll(runtime, source_id)

        assert result.error == ""
        assert (result.fetched, result.stored, result.duplicates) == (6, 5, 1)
        with runtime.session_factory() as session:
            assert session.scalar(select(func.count(MailMessage.id))) == 5
            assert session.scalar(select(func.count(Run.id))) == 4
            waiting = inbox.list_lane(session, "waiting").mails
            assert [m.sender for m in waiting] == ["veeam@vbr01.example.com"]
            source = session.get(MailSource, source_id)
            assert source is not None and source.watermark is not None
            assert source.watermark["last_uid"] == 6
        assert _count(client, "INBOX") == 0
        assert _count(client, "Processed") == 6

        client.append("INBOX", report_mail(9))
        again = mail_polling.poll(runtime, source_id)
        assert (again.fetched, again.stored) == (1, 1)
        with runtime.session_factory() as session:
            assert session.scalar(select(func.count(Run.id))) == 5
    finally:
        client.logout()


def test_a_wrong_password_is_recorded_on_the_source(
    runtime: Runtime, dovecot: DovecotServer
) -> None:
    user, _ = dovecot.add_user()
    source_id = _source(runtime, dovecot, user, "not-the-password")
    result = mail_polling.poll(runtime, source_id)
    assert "refused the username or password" in result.error
    with runtime.session_factory() as session:
        source = session.get(MailSource, source_id)
        assert source is not None and source.last_error == result.error
