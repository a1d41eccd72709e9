"""The SMTP receiver: a real aiosmtpd server on an ephemeral loopback port, driven by smtplib."""

from __future__ import annotations

import smtplib
import threading
from collections.abc import Iterator

import pytest

from ticketbridge.connectors.errors import ConnectorConfigError
from ticketbridge.connectors.mail.smtp import SmtpConfig, SmtpReceiver, recipient_accepted

LIMIT = 4096


def _big_body() -> str:
    # SMTP lines stop at 1,000 octets, so a large body is many ordinary lines.
    return "\r\n".join("x" * 70 for _ in range(LIMIT // 70 + 2))


def _mail(body: str = "All 3 VMs backed up.") -> bytes:
    return (
        "From: nas@example.com\r\nTo: intake@example.com\r\nSubject: Hyper Backup done\r\n"
        f"Message-ID: <hb-1@example.com>\r\n\r\n{body}\r\n"
    ).encode()


class Inbox:
    def __init__(self) -> None:
        self.received: list[tuple[bytes, str, list[str]]] = []
        self.fail = False
        self.lock = threading.Lock()

    def __call__(self, raw: bytes, mail_from: str, rcpt_tos: list[str]) -> None:
        if self.fail:
            raise RuntimeError("database is down")
        with self.lock:
            self.received.append((raw, mail_from, rcpt_tos))


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
def receiver(inbox: Inbox) -> Iterator[SmtpReceiver]:
    config = SmtpConfig(
        host="127.0.0.1",
        port=0,
        max_message_bytes=LIMIT,
        accepted_recipients=["intake@example.com", "@reports.example.com"],
    )
    with SmtpReceiver(config, inbox) as running:
        yield running


def _client(receiver: SmtpReceiver) -> smtplib.SMTP:
    return smtplib.SMTP("127.0.0.1", receiver.port, timeout=10)


def test_accepted_mail_reaches_the_callback_byte_for_byte(
    receiver: SmtpReceiver, inbox: Inbox
) -> None:
    with _client(receiver) as client:
        refused = client.sendmail(
            "nas@example.com", ["intake@example.com", "x@reports.example.com"], _mail()
        )

    assert refused == {}
    assert len(inbox.received) == 1
    raw, mail_from, rcpt_tos = inbox.received[0]
    # The DATA terminator is not part of the message; everything else is kept as sent.
    assert raw == _mail()
    assert mail_from == "nas@example.com"
    assert rcpt_tos == ["intake@example.com", "x@reports.example.com"]


def test_an_unknown_recipient_is_refused_with_550(receiver: SmtpReceiver, inbox: Inbox) -> None:
    with _client(receiver) as client, pytest.raises(smtplib.SMTPRecipientsRefused) as caught:
        client.sendmail("nas@example.com", ["someone@elsewhere.example"], _mail())

    assert caught.value.recipients["someone@elsewhere.example"][0] == 550
    assert inbox.received == []


def test_a_mixed_delivery_keeps_only_the_accepted_recipients(
    receiver: SmtpReceiver, inbox: Inbox
) -> None:
    with _client(receiver) as client:
        refused = client.sendmail(
            "nas@example.com", ["intake@example.com", "other@example.org"], _mail()
        )
    assert refused == {"other@example.org": (550, b"5.1.1 Recipient address not accepted here")}
    assert inbox.received[0][2] == ["intake@example.com"]


def test_an_oversized_mail_announced_with_size_is_refused_with_552(
    receiver: SmtpReceiver, inbox: Inbox
) -> None:
    big = _mail(_big_body())
    with _client(receiver) as client, pytest.raises(smtplib.SMTPSenderRefused) as caught:
        client.sendmail("nas@example.com", ["intake@example.com"], big)
    assert caught.value.smtp_code == 552
    assert inbox.received == []


def test_an_oversized_mail_without_size_is_refused_with_552_after_data(
    receiver: SmtpReceiver, inbox: Inbox
) -> None:
    big = _mail(_big_body())
    with _client(receiver) as client:
        client.ehlo()
        assert client.mail("nas@example.com")[0] == 250  # no SIZE= parameter
        assert client.rcpt("intake@example.com")[0] == 250
        code, _ = client.data(big)
    assert code == 552
    assert inbox.received == []


def test_a_failing_store_answers_451_so_the_sender_retries(
    receiver: SmtpReceiver, inbox: Inbox
) -> None:
    inbox.fail = True
    with _client(receiver) as client, pytest.raises(smtplib.SMTPDataError) as caught:
        client.sendmail("nas@example.com", ["intake@example.com"], _mail())
    assert caught.value.smtp_code == 451


def test_stop_closes_the_port_and_start_again_works(inbox: Inbox) -> None:
    config = SmtpConfig(port=0, accepted_recipients=["*"])
    receiver = SmtpReceiver(config, inbox)
    receiver.start()
    port = receiver.port
    receiver.stop()
    with pytest.raises(OSError):
        smtplib.SMTP("127.0.0.1", port, timeout=5)
    receiver.start()
    try:
        with _client(receiver) as client:
            client.sendmail("a@b.example", ["anyone@anywhere.example"], _mail())
    finally:
        receiver.stop()
    assert len(inbox.received) == 1


def test_a_port_already_in_use_raises_connector_config_error(
    receiver: SmtpReceiver, inbox: Inbox
) -> None:
    clash = SmtpReceiver(SmtpConfig(port=receiver.port, accepted_recipients=["*"]), inbox)
    with pytest.raises(ConnectorConfigError, match="cannot listen"):
        clash.start()


@pytest.mark.parametrize(
    ("address", "accepted"),
    [
        ("Intake@Example.com", True),
        ("<intake@example.com>", True),
        ("ops@reports.example.com", True),
        ("ops@sub.reports.example.com", False),
        ("intake@example.org", False),
        ("no-at-sign", False),
    ],
)
def test_recipient_rules_match_addresses_and_domains(address: str, accepted: bool) -> None:
    rules = SmtpConfig(accepted_recipients=["intake@example.com", "@Reports.example.com"])
    assert recipient_accepted(address, rules.accepted_recipients) is accepted


def test_a_recipient_rule_must_be_an_address_a_domain_or_star() -> None:
    with pytest.raises(ValueError, match="neither"):
        SmtpConfig(accepted_recipients=["example.com"])
