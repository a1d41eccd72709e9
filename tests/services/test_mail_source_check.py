"""Test connection: one connect and sign-in with a source's settings, nothing stored.

IMAP against the test Dovecot (skipped where it is not installed), Microsoft 365 against the
Graph emulator in process, the SMTP receiver against a real receiver on a loopback port.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from tests.services.dovecot import DovecotServer, dovecot
from ticketbridge.connectors.mail.smtp import SmtpReceiver
from ticketbridge.services.mail import sources as mail_sources
from ticketbridge.services.mail.source_check import test_connection as check
from ticketbridge.services.mail.sources import SourceInvalid
from ticketbridge.storage.secrets import SecretBox

__all__ = ["dovecot"]

MAILBOX = "backups@example.com"
TOKEN = "graph-test-token"
BOX = SecretBox("k" * 48)


def _imap(server: DovecotServer, user: str, **extra: object) -> dict[str, object]:
    config = {"host": server.host, "port": server.port, "security": "plain", "username": user}
    return config | extra


def test_imap_signs_in_and_says_what_it_found(dovecot: DovecotServer) -> None:
    user, password = dovecot.add_user()
    result = check("imap", _imap(dovecot, user), password)
    assert result.ok, result.message
    assert result.message.startswith("INBOX: 0 message(s); processed folder 'Processed'")


def test_imap_with_a_wrong_password_fails_with_the_reason_and_no_secret(
    dovecot: DovecotServer,
) -> None:
    user, _ = dovecot.add_user()
    result = check("imap", _imap(dovecot, user), "not-the-password")
    assert not result.ok
    assert "refused the username or password" in result.message
    assert "not-the-password" not in result.message


def test_imap_where_nothing_listens_fails_without_raising() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        port = sock.getsockname()[1]
        config = {"host": "127.0.0.1", "port": port, "security": "plain", "username": "u"}
        result = check("imap", config, "pw")
    assert not result.ok and result.message


def test_settings_are_refused_with_every_problem_before_connecting() -> None:
    with pytest.raises(SourceInvalid) as refused:
        check("imap", {"port": 0}, None)
    assert [p.field for p in refused.value.problems] == ["secret", "host", "port", "username"]


@pytest.fixture
def graph() -> Iterator[TestClient]:
    from ticketbridge.emulators.graph import create_app

    client = TestClient(create_app(tokens=[TOKEN]), base_url="https://graph.test")
    with client:
        client.get(f"/_emulator/mailboxes/{MAILBOX}/folders")  # creates the mailbox
        yield client


def _graph(**extra: object) -> dict[str, object]:
    config = {"tenant_id": "t", "client_id": "c", "mailbox": MAILBOX}
    return config | {"graph_url": "https://graph.test/v1.0"} | extra


def test_graph_reads_the_folder_through_the_emulator(graph: TestClient) -> None:
    result = check("graph", _graph(), "s3cret", token_provider=lambda: TOKEN, http_client=graph)
    assert result.ok, result.message
    assert "0 message(s); processed folder 'Processed' will be created" in result.message


def test_graph_with_a_refused_token_fails_with_the_reason(graph: TestClient) -> None:
    result = check("graph", _graph(), "s3cret", token_provider=lambda: "expired", http_client=graph)
    assert not result.ok and "401" in result.message


def test_smtp_says_a_running_receiver_answers() -> None:
    receiver = SmtpReceiver(SmtpReceiver.Config(port=0, accepted_recipients=["*"]), lambda *_: None)
    with receiver:
        port = receiver.port
        result = check("smtp", {"port": port, "accepted_recipients": ["*"]}, None)
    assert result.ok and f"an SMTP server answers at 127.0.0.1:{port}: 220" in result.message


def test_smtp_says_whether_the_receiver_could_listen_where_nothing_answers() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))  # bound, not listening: refused, and not bindable
        port = taken.getsockname()[1]
        busy = check("smtp", {"port": port, "accepted_recipients": ["*"]}, None)
    assert not busy.ok and "cannot listen there" in busy.message
    free = check("smtp", {"port": port, "accepted_recipients": ["*"]}, None)
    assert free.ok and "the receiver can listen there once serve starts" in free.message


def test_a_stored_secret_is_tested_only_where_it_was_entered_for(session: Session) -> None:
    config = {"host": "127.0.0.1", "port": 1143, "security": "plain", "username": "u"}
    source = mail_sources.create_source(
        session, BOX, kind="imap", name="Box", config=config, secret="pw", actor="t"
    )
    same = config | {"folder": "Reports", "processed_folder": "Done"}
    assert mail_sources.stored_secret_for(BOX, source, same) == "pw"
    for moved in ({"port": 1144}, {"host": "localhost"}, {"username": "v"}):
        assert mail_sources.stored_secret_for(BOX, source, config | moved) is None
    assert mail_sources.stored_secret_for(BOX, None, config) is None
