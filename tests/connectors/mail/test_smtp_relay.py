"""The SMTP relay sender against aiosmtpd on a loopback port: what a relay answers becomes the
error an operator can act on (connectors/errors.py), and a password is never sent in clear."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from ticketbridge.connectors.errors import (
    ConnectorConfigError,
    ConnectorUnavailable,
    RemoteRejected,
)
from ticketbridge.connectors.mail.sender import MailSender
from ticketbridge.connectors.mail.smtp_relay import SmtpRelayConfig, SmtpRelaySender

# aiosmtpd 1.4 warns about its own attribute while it logs a client in.
pytestmark = pytest.mark.filterwarnings("ignore:Session.login_data is deprecated")


class Handler:
    def __init__(self) -> None:
        self.answer = "250 OK"
        self.received: list[bytes] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.answer.startswith("250"):
            self.received.append(envelope.original_content or b"")
        return self.answer


def _authenticator(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: object
) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"desk", b"s3cret")
    return AuthResult(success=ok)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def relay() -> Iterator[tuple[Handler, int]]:
    handler, port = Handler(), _free_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        authenticator=_authenticator,
        auth_require_tls=False,  # loopback test relay only
    )
    controller.start()
    yield handler, port
    controller.stop()


def _message() -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "desk@x.example", "ann@y.example", "Hi"
    message.set_content("Ticket SUP-1.")
    return message


def _sender(port: int, **values: object) -> SmtpRelaySender:
    config = {"host": "127.0.0.1", "port": port, "security": "none", "timeout_seconds": 5, **values}
    return SmtpRelaySender(SmtpRelayConfig.model_validate(config))


def test_a_message_reaches_the_relay_after_logging_in(relay: tuple[Handler, int]) -> None:
    handler, port = relay
    sender = _sender(port, username="desk", password="s3cret")
    assert isinstance(sender, MailSender)
    sender.send(_message(), recipients=["ann@y.example"])
    assert b"Ticket SUP-1." in handler.received[0]


def test_what_the_relay_answers_becomes_an_error_an_operator_can_act_on(
    relay: tuple[Handler, int],
) -> None:
    handler, port = relay
    handler.answer = "451 4.3.0 Try later"
    with pytest.raises(ConnectorUnavailable, match="SMTP 451"):
        _sender(port).send(_message(), recipients=["a@b.c"])
    handler.answer = "550 5.7.1 Relaying denied"
    with pytest.raises(RemoteRejected, match="SMTP 550"):
        _sender(port).send(_message(), recipients=["a@b.c"])
    with pytest.raises(ConnectorConfigError, match="does not offer STARTTLS"):
        _sender(port, security="starttls").send(_message(), recipients=["a@b.c"])
    with pytest.raises(ConnectorUnavailable, match="Could not reach"):
        _sender(_free_port()).send(_message(), recipients=["a@b.c"])
    assert handler.received == []


def test_a_password_without_its_username_is_refused() -> None:
    with pytest.raises(ValueError, match="username"):
        SmtpRelayConfig.model_validate({"host": "relay.example", "password": "x"})
