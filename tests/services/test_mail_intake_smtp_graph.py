"""SMTP and Microsoft Graph end to end: mail reaches stored mail (and runs) through each."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from tests.factories import NOW
from tests.services.mail_support import report_mail
from ticketbridge.services.mail import inbox
from ticketbridge.services.mail import polling as mail_polling
from ticketbridge.services.mail import smtp as mail_smtp
from ticketbridge.services.mail import sources as mail_sources
from ticketbridge.services.runs import catalog
from ticketbridge.services.runtime import Runtime, build_runtime
from ticketbridge.settings import Settings
from ticketbridge.storage.models import MailMessage, MailSource, Run

MAILBOX = "backups@example.com"
TOKEN = "graph-test-token"


@pytest.fixture
def runtime(settings: Settings, engine: Engine, db: sessionmaker[Session]) -> Runtime:
    return build_runtime(settings, engine=engine, clock=lambda: NOW)


def _add(runtime: Runtime, kind: str, config: dict[str, object], secret: str | None) -> int:
    with runtime.session_factory() as session:
        source = mail_sources.create_source(
            session,
            runtime.secret_box,
            kind=kind,
            name=f"{kind} source",
            config=config,
            secret=secret,
            actor="test",
        )
        customer = catalog.create_customer(session, "Acme", actor="test")
        inbox.create_rule(
            session, sender="acme.example", subject_pattern="", customer_id=customer.id, actor="t"
        )
        session.commit()
        return source.id


def test_mail_sent_to_the_smtp_receiver_is_stored_before_250(runtime: Runtime) -> None:
    source_id = _add(
        runtime, "smtp", {"port": 0, "accepted_recipients": ["intake@msp.example"]}, None
    )
    receivers = mail_smtp.start_receivers(runtime)
    try:
        [receiver] = receivers
        with smtplib.SMTP("127.0.0.1", receiver.port, timeout=10) as client:
            client.sendmail("backup@acme.example", ["intake@msp.example"], report_mail(1))
            client.sendmail("backup@acme.example", ["intake@msp.example"], report_mail(1))
            with pytest.raises(smtplib.SMTPRecipientsRefused):
                client.sendmail("backup@acme.example", ["someone@else.example"], report_mail(2))
    finally:
        for one in receivers:
            one.stop()
    with runtime.session_factory() as session:
        [mail] = session.scalars(select(MailMessage)).all()
        assert mail.source_id == source_id and mail.subject == "[Success] Backup job Nightly"
        assert session.scalar(select(func.count(Run.id))) == 1
        source = session.get(MailSource, source_id)
        assert source is not None
        assert (source.fetched_count, source.stored_count, source.duplicate_count) == (2, 1, 1)


def test_a_disabled_smtp_source_does_not_listen(runtime: Runtime) -> None:
    source_id = _add(runtime, "smtp", {"port": 0, "accepted_recipients": ["*"]}, None)
    with runtime.session_factory() as session:
        mail_sources.update_source(
            session, runtime.secret_box, source_id, enabled=False, actor="test"
        )
        session.commit()
    assert mail_smtp.start_receivers(runtime) == []


@pytest.fixture
def graph() -> Iterator[TestClient]:
    from ticketbridge.emulators.graph import create_app

    client = TestClient(create_app(tokens=[TOKEN]), base_url="https://graph.test")
    with client:
        client.get(f"/_emulator/mailboxes/{MAILBOX}/folders")  # creates the mailbox
        yield client


def test_mail_in_a_graph_mailbox_becomes_runs_and_moves_to_processed(
    runtime: Runtime, graph: TestClient
) -> None:
    for n in (1, 2, 3):
        url = f"/_emulator/mailboxes/{MAILBOX}/folders/inbox/messages"
        assert graph.post(url, content=report_mail(n)).status_code == 201
    source_id = _add(
        runtime,
        "graph",
        {
            "tenant_id": "tenant-1",
            "client_id": "client-1",
            "mailbox": MAILBOX,
            "graph_url": "https://graph.test/v1.0",
            "page_size": 2,
        },
        "client-secret-value",
    )

    def factory(source: MailSource) -> object:
        return mail_sources.connector_for(
            source, runtime.secret_box, token_provider=lambda: TOKEN, http_client=graph
        )

    result = mail_polling.poll(runtime, source_id, connector_factory=factory)
    assert result.error == "" and (result.fetched, result.stored) == (3, 3)
    with runtime.session_factory() as session:
        assert session.scalar(select(func.count(Run.id))) == 3
        source = session.get(MailSource, source_id)
        assert source is not None and source.watermark
    folders = graph.get(f"/_emulator/mailboxes/{MAILBOX}/folders").json()
    processed = next(f for f in folders if f["displayName"] == "Processed")
    assert len(processed["messages"]) == 3

    again = mail_polling.poll(runtime, source_id, connector_factory=factory)
    assert (again.fetched, again.stored, again.error) == (0, 0, "")
