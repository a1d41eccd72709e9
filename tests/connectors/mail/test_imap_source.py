"""The IMAP source against a real Dovecot (see conftest.py)."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from imapclient import IMAPClient
from pydantic import SecretStr, ValidationError

from ticketbridge.connectors.errors import ConnectorAuthError, ConnectorConfigError
from ticketbridge.connectors.mail.base import MailSource
from ticketbridge.connectors.mail.imap import ImapConfig, ImapSource

if TYPE_CHECKING:
    from conftest import DovecotServer


def _mail(n: int) -> bytes:
    return (
        f"From: backup@example.com\r\nTo: intake@example.com\r\n"
        f"Subject: Job {n} finished\r\nMessage-ID: <job-{n}@example.com>\r\n"
        f"Date: Mon, 02 Jun 2025 10:0{n % 10}:00 +0200\r\n\r\nBody of mail {n}.\r\n"
    ).encode()


class Mailbox:
    """A second, plain IMAP connection the test uses to deliver and inspect mail."""

    def __init__(self, server: DovecotServer, user: str, password: str) -> None:
        self.client = IMAPClient(server.host, port=server.port, ssl=False, timeout=10)
        self.client.login(user, password)

    def deliver(self, *numbers: int, folder: str = "INBOX") -> None:
        for n in numbers:
            self.client.append(folder, _mail(n))

    def subjects(self, folder: str) -> list[str]:
        self.client.select_folder(folder, readonly=True)
        uids = self.client.search(["ALL"])
        data = self.client.fetch(uids, ["BODY.PEEK[HEADER.FIELDS (SUBJECT)]"])
        return sorted(
            bytes(v[b"BODY[HEADER.FIELDS (SUBJECT)]"]).decode().strip() for v in data.values()
        )


@pytest.fixture
def account(dovecot: DovecotServer) -> tuple[str, str]:
    return dovecot.add_user()


@pytest.fixture
def mailbox(dovecot: DovecotServer, account: tuple[str, str]) -> Iterator[Mailbox]:
    box = Mailbox(dovecot, *account)
    yield box
    box.client.logout()


def _config(server: DovecotServer, account: tuple[str, str], **overrides: object) -> ImapConfig:
    values: dict[str, object] = {
        "host": server.host,
        "port": server.port,
        "security": "plain",
        "username": account[0],
        "password": SecretStr(account[1]),
        "timeout_seconds": 10,
    }
    values.update(overrides)
    return ImapConfig.model_validate(values)


@pytest.fixture
def source(dovecot: DovecotServer, account: tuple[str, str]) -> Iterator[ImapSource]:
    src = ImapSource(_config(dovecot, account))
    yield src
    src.close()


def test_imap_source_satisfies_the_mail_source_protocol(source: ImapSource) -> None:
    assert isinstance(source, MailSource)


def test_fetch_returns_new_mail_raw_and_in_uid_order(source: ImapSource, mailbox: Mailbox) -> None:
    mailbox.deliver(1, 2, 3)

    batch = source.fetch(None)

    assert [m.raw for m in batch.messages] == [_mail(1), _mail(2), _mail(3)]
    assert all(m.received_at is not None and m.received_at.tzinfo for m in batch.messages)
    assert batch.watermark["folder"] == "INBOX"
    assert batch.watermark["last_uid"] == 3
    assert batch.more is False


def test_fetch_does_not_mark_mail_as_seen(source: ImapSource, mailbox: Mailbox) -> None:
    mailbox.deliver(1)
    source.fetch(None)
    mailbox.client.select_folder("INBOX", readonly=True)
    assert mailbox.client.search(["UNSEEN"]) == [1]


def test_fetch_resumes_after_the_watermark_with_only_newer_mail(
    source: ImapSource, mailbox: Mailbox
) -> None:
    mailbox.deliver(1, 2)
    first = source.fetch(None)
    mailbox.deliver(3)

    second = source.fetch(first.watermark)
    third = source.fetch(second.watermark)

    assert [m.raw for m in second.messages] == [_mail(3)]
    assert third.messages == []
    assert third.watermark == second.watermark


def test_fetch_stops_at_batch_size_and_says_more_is_waiting(
    dovecot: DovecotServer, account: tuple[str, str], mailbox: Mailbox
) -> None:
    mailbox.deliver(1, 2, 3, 4, 5)
    src = ImapSource(_config(dovecot, account, batch_size=2))
    try:
        seen: list[bytes] = []
        watermark = None
        rounds = 0
        while True:
            batch = src.fetch(watermark)
            rounds += 1
            seen.extend(m.raw for m in batch.messages)
            watermark = batch.watermark
            if not batch.more:
                break
    finally:
        src.close()
    assert seen == [_mail(n) for n in range(1, 6)]
    assert rounds == 3


def test_uidvalidity_change_reads_the_folder_again_from_the_start(
    dovecot: DovecotServer, account: tuple[str, str], mailbox: Mailbox
) -> None:
    mailbox.client.create_folder("Reports")
    mailbox.deliver(1, 2, folder="Reports")
    src = ImapSource(_config(dovecot, account, folder="Reports"))
    try:
        first = src.fetch(None)
        # A recreated folder gets a new UIDVALIDITY and restarts its UIDs at 1.
        mailbox.client.delete_folder("Reports")
        mailbox.client.create_folder("Reports")
        mailbox.deliver(3, folder="Reports")
        stale = {**first.watermark, "uidvalidity": first.watermark["uidvalidity"] - 1}
        if (
            mailbox.client.folder_status("Reports", [b"UIDVALIDITY"])[b"UIDVALIDITY"]
            == (first.watermark["uidvalidity"])
        ):
            # Same second on a fast machine: the server reused the value; use a stale one.
            first = type(first)(messages=first.messages, watermark=stale)

        second = src.fetch(first.watermark)
    finally:
        src.close()
    assert [m.raw for m in first.messages] == [_mail(1), _mail(2)]
    assert [m.raw for m in second.messages] == [_mail(3)]
    assert second.watermark["uidvalidity"] != first.watermark["uidvalidity"]
    assert second.watermark["last_uid"] == 1


def test_mark_processed_moves_mail_to_the_processed_folder_creating_it(
    source: ImapSource, mailbox: Mailbox
) -> None:
    mailbox.deliver(1, 2, 3)
    batch = source.fetch(None)

    source.mark_processed([batch.messages[0].source_id, batch.messages[2].source_id])

    assert mailbox.subjects("INBOX") == ["Subject: Job 2 finished"]
    assert mailbox.subjects("Processed") == ["Subject: Job 1 finished", "Subject: Job 3 finished"]


def test_mark_processed_twice_and_with_stale_ids_is_harmless(
    source: ImapSource, mailbox: Mailbox
) -> None:
    mailbox.deliver(1)
    batch = source.fetch(None)
    ids = [m.source_id for m in batch.messages]

    source.mark_processed(ids)
    source.mark_processed([*ids, "1:99", "not-an-id"])

    assert mailbox.subjects("Processed") == ["Subject: Job 1 finished"]
    assert mailbox.subjects("INBOX") == []


def test_wait_for_mail_wakes_up_when_idle_announces_a_new_message(
    source: ImapSource, mailbox: Mailbox
) -> None:
    assert source.supports_idle()
    watermark = source.fetch(None).watermark
    idling = threading.Event()
    result: list[bool] = []

    waiter = threading.Thread(
        target=lambda: result.append(source.wait_for_mail(watermark, 20, on_idle=idling.set))
    )
    waiter.start()
    assert idling.wait(10), "the source never reached IDLE"
    mailbox.deliver(7)
    waiter.join(20)

    assert result == [True]
    assert [m.raw for m in source.fetch(watermark).messages] == [_mail(7)]


def test_wait_for_mail_returns_at_once_when_mail_is_already_waiting(
    source: ImapSource, mailbox: Mailbox
) -> None:
    watermark = source.fetch(None).watermark
    mailbox.deliver(1)
    called: list[bool] = []

    assert source.wait_for_mail(watermark, 20, on_idle=lambda: called.append(True)) is True
    assert called == []


def test_wait_for_mail_returns_false_when_nothing_arrives_before_the_timeout(
    source: ImapSource,
) -> None:
    watermark = source.fetch(None).watermark
    assert source.wait_for_mail(watermark, 0) is False


def test_a_set_cancel_event_ends_an_idle_wait_with_false(source: ImapSource) -> None:
    watermark = source.fetch(None).watermark
    idling = threading.Event()
    cancel = threading.Event()
    result: list[bool] = []
    waiter = threading.Thread(
        target=lambda: result.append(
            source.wait_for_mail(watermark, 600, on_idle=idling.set, cancel=cancel)
        )
    )
    waiter.start()
    assert idling.wait(10), "the source never reached IDLE"

    cancel.set()
    waiter.join(10)

    assert not waiter.is_alive(), "the wait ignored its cancel event"
    assert result == [False]


def test_a_cancelled_wait_returns_false_before_idling(source: ImapSource, mailbox: Mailbox) -> None:
    cancel = threading.Event()
    cancel.set()
    called: list[bool] = []
    mailbox.deliver(1)  # even with mail waiting, a cancelled wait asks for no fetch

    assert source.wait_for_mail(None, 600, on_idle=lambda: called.append(True), cancel=cancel) is (
        False
    )
    assert called == []


def test_bad_password_raises_connector_auth_error(
    dovecot: DovecotServer, account: tuple[str, str]
) -> None:
    src = ImapSource(_config(dovecot, (account[0], "wrong-password")))
    with pytest.raises(ConnectorAuthError) as caught:
        src.fetch(None)
    assert "wrong-password" not in str(caught.value)
    assert caught.value.retryable is False


def test_missing_folder_raises_connector_config_error(
    dovecot: DovecotServer, account: tuple[str, str]
) -> None:
    src = ImapSource(_config(dovecot, account, folder="Nope"))
    with pytest.raises(ConnectorConfigError, match="Nope"):
        src.fetch(None)


def test_check_summarises_the_folder(source: ImapSource, mailbox: Mailbox) -> None:
    mailbox.deliver(1, 2)
    summary = source.check()
    assert summary.startswith("INBOX: 2 message(s)")
    assert "IDLE" in summary


def test_plain_imap_is_refused_for_a_remote_host() -> None:
    with pytest.raises(ValidationError, match="loopback"):
        ImapConfig(host="mail.example.com", security="plain", username="u", password="p")


def test_password_is_not_shown_in_the_config_repr() -> None:
    config = ImapConfig(host="mail.example.com", username="u", password="hunter2-secret")
    assert "hunter2-secret" not in repr(config)
    assert config.effective_port == 993


# -- TLS ----------------------------------------------------------------------------------------


def _trusting(server: DovecotServer) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(server.root / "cert.pem"))


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_fetch_over_tls_and_starttls_with_a_trusted_certificate(
    dovecot: DovecotServer, account: tuple[str, str], mailbox: Mailbox, security: str
) -> None:
    mailbox.deliver(1)
    port = dovecot.tls_port if security == "tls" else dovecot.port
    src = ImapSource(
        _config(dovecot, account, security=security, port=port), ssl_context=_trusting(dovecot)
    )
    try:
        assert [m.raw for m in src.fetch(None).messages] == [_mail(1)]
    finally:
        src.close()


def test_an_untrusted_certificate_raises_connector_config_error(
    dovecot: DovecotServer, account: tuple[str, str]
) -> None:
    src = ImapSource(_config(dovecot, account, security="tls", port=dovecot.tls_port))
    with pytest.raises(ConnectorConfigError, match="could not be verified"):
        src.fetch(None)


def test_verification_can_be_switched_off_for_self_signed_servers(
    dovecot: DovecotServer, account: tuple[str, str], mailbox: Mailbox
) -> None:
    mailbox.deliver(2)
    src = ImapSource(
        _config(dovecot, account, security="tls", port=dovecot.tls_port, verify_tls=False)
    )
    try:
        assert [m.raw for m in src.fetch(None).messages] == [_mail(2)]
    finally:
        src.close()


def test_tls_to_a_plain_port_raises_connector_config_error(
    dovecot: DovecotServer, account: tuple[str, str]
) -> None:
    src = ImapSource(_config(dovecot, account, security="tls", port=dovecot.port))
    with pytest.raises(ConnectorConfigError, match="security mode"):
        src.fetch(None)


# -- servers without MOVE -----------------------------------------------------------------------


class WithoutMove(IMAPClient):
    """Dovecot as a server without MOVE (RFC 6851) would look."""

    hidden: tuple[str, ...] = ("MOVE",)
    commands: list[str] = []

    def has_capability(self, capability: str) -> bool:
        if capability.upper() in self.hidden:
            return False
        return bool(super().has_capability(capability))

    def copy(self, messages: Any, folder: Any) -> Any:
        self.commands.append("COPY")
        return super().copy(messages, folder)

    def uid_expunge(self, messages: Any) -> Any:
        self.commands.append("UID EXPUNGE")
        return super().uid_expunge(messages)

    def expunge(self, messages: Any = None) -> Any:
        self.commands.append("EXPUNGE")
        return super().expunge(messages)


class WithoutMoveOrUidplus(WithoutMove):
    hidden = ("MOVE", "UIDPLUS")


@pytest.mark.parametrize(
    ("client_class", "expected"),
    [(WithoutMove, ["COPY", "UID EXPUNGE"]), (WithoutMoveOrUidplus, ["COPY", "EXPUNGE"])],
)
def test_without_move_processed_mail_is_copied_flagged_deleted_and_expunged(
    dovecot: DovecotServer,
    account: tuple[str, str],
    mailbox: Mailbox,
    client_class: type[WithoutMove],
    expected: list[str],
) -> None:
    client_class.commands = []
    mailbox.deliver(1, 2)
    src = ImapSource(_config(dovecot, account), client_class=client_class)
    try:
        batch = src.fetch(None)
        src.mark_processed([batch.messages[0].source_id])
    finally:
        src.close()
    assert client_class.commands == expected
    assert mailbox.subjects("Processed") == ["Subject: Job 1 finished"]
    assert mailbox.subjects("INBOX") == ["Subject: Job 2 finished"]
