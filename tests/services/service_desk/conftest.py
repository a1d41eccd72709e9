"""A service-desk mailbox wired to the Jira Cloud emulator, in-process: mail stored through the
product's own mail intake, tickets and comments made through the connection as configured,
and the emulator read back through Jira's REST API as another Jira user would."""

from __future__ import annotations

import base64
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import NOW
from ticketbridge.core.service_desk.routing import RoutingRule
from ticketbridge.emulators.autotask import InProcessTransport
from ticketbridge.emulators.jira import DEMO_API_TOKEN, DEMO_EMAIL
from ticketbridge.emulators.jira import create_app as create_jira
from ticketbridge.services.connections import named
from ticketbridge.services.connections import settings as connection_settings
from ticketbridge.services.mail import intake as mail_intake
from ticketbridge.services.mail import sources as mail_sources
from ticketbridge.services.runtime import Runtime, build_runtime
from ticketbridge.services.service_desk import mailboxes
from ticketbridge.services.service_desk.process import Handled, process_pending
from ticketbridge.settings import Settings
from ticketbridge.storage.models import MailSource, PsaConnection

if TYPE_CHECKING:
    from tests.services.service_desk.autotask_desk import AutotaskDesk

JIRA_URL = "https://jira.test"
SUP = "10001"  # the emulator's service desk project
DESK = "support@msp.example"
JIRA_AUTH = "Basic " + base64.b64encode(f"{DEMO_EMAIL}:{DEMO_API_TOKEN}".encode()).decode()


def mail(
    n: int | str,
    *,
    sender: str = "ann@customer.example",
    subject: str = "Printer on floor 2 is offline",
    body: str = "The printer does not print since this morning.",
    in_reply_to: str = "",
    headers: str = "",
) -> bytes:
    """A mail to the desk as a mail client writes it (RFC 5322, CRLF)."""
    reply = (
        f"In-Reply-To: <{in_reply_to}>\r\nReferences: <{in_reply_to}>\r\n" if in_reply_to else ""
    )
    return (
        f"From: Ann Example <{sender}>\r\nTo: Support <{DESK}>\r\n"
        f"Subject: {subject}\r\nMessage-ID: <{n}@customer.example>\r\n{reply}{headers}"
        f"Date: {format_datetime(NOW)}\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        f"{body}\r\n"
    ).encode()


def mail_with_attachments(n: int, *files: tuple[str, bytes], reply: bool = False) -> bytes:
    """A mail to the desk with files, a reply to mail 1 when ``reply``."""
    mail = EmailMessage()
    mail["From"] = "Ann Example <ann@customer.example>"
    mail["To"] = f"Support <{DESK}>"
    mail["Subject"] = ("Re: " if reply else "") + "Printer on floor 2 is offline"
    mail["Message-ID"] = f"<{n}@customer.example>"
    if reply:
        mail["In-Reply-To"] = mail["References"] = "<1@customer.example>"
    mail["Date"] = format_datetime(NOW)
    mail.set_content("Here is what I have.")
    for name, data in files:
        mail.add_attachment(data, "application", "octet-stream", filename=name)
    return mail.as_bytes()


class Jira:
    """The emulator through Jira's REST API, as another Jira user."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http
        self.http.headers["Authorization"] = JIRA_AUTH

    def issues(self) -> list[dict[str, Any]]:
        answer = self.http.get(
            "/rest/api/3/search/jql",
            params={
                "jql": "project = SUP ORDER BY created ASC",
                "fields": "summary,description,labels",
            },
        )
        assert answer.is_success, answer.text
        return list(answer.json()["issues"])

    def comments(self, key: str) -> list[str]:
        answer = self.http.get(f"/rest/api/3/issue/{key}/comment")
        assert answer.is_success, answer.text
        return [_text(c["body"]) for c in answer.json()["comments"]]

    def delete(self, key: str) -> None:
        assert self.http.delete(f"/rest/api/3/issue/{key}").status_code == 204


def _text(node: Any) -> str:
    """An Atlassian Document's text, paragraphs on lines of their own."""
    if isinstance(node, str):
        return node
    if node.get("type") == "text":
        return str(node.get("text", ""))
    if node.get("type") == "hardBreak":
        return "\n"
    joined = "".join(_text(child) for child in node.get("content", []))
    return joined + "\n" if node.get("type") == "paragraph" else joined


@dataclass
class Desk:
    runtime: Runtime
    jira: Jira
    source_id: int

    def receive(self, raw: bytes, *, now: datetime = NOW) -> None:
        """Store a mail as the mailbox's poller does (mail intake, in its own transaction)."""
        with self.runtime.session_factory() as session:
            mail_intake.accept(session, raw, now=now, source_id=self.source_id)
            session.commit()

    def handle(self, raw: bytes) -> Handled:
        self.receive(raw)
        [handled] = process_pending(self.runtime)
        return handled


def connect_jira(session: Session, runtime: Runtime, jira_url: str) -> PsaConnection:
    """A Jira connection to the emulator at ``jira_url``, saved as an admin saves it."""
    connection_settings.save(
        session,
        runtime.secret_box,
        {
            "enabled": True,
            "base_url": "https://ticketbridge.example.com",
            "connector": {
                "base_url": jira_url,
                "email": DEMO_EMAIL,
                "api_token": DEMO_API_TOKEN,
                "issue_type": "Service Request",  # the SUP project's issue type
            },
        },
        actor="test",
        now=NOW,
        kind="jira",
    )
    connection = named.first_of_kind(session, "jira")
    assert connection is not None
    return connection


def add_mail_source(
    session: Session, runtime: Runtime, name: str = "Support mailbox", username: str = "support"
) -> MailSource:
    """An IMAP source, reading backup reports until it is made a desk mailbox."""
    source = mail_sources.create_source(
        session,
        runtime.secret_box,
        kind="imap",
        name=name,
        config={"host": "127.0.0.1", "security": "plain", "username": username},
        secret="pw",
        actor="test",
    )
    session.flush()
    return source


def set_up_desk(runtime: Runtime, jira_url: str, source_id: int | None = None) -> int:
    """What an admin sets up: a Jira connection and a mailbox whose purpose is the service
    desk, with its target, routing and filters; the mail source's id (an IMAP source made
    here unless ``source_id`` names one)."""
    with runtime.session_factory() as session:
        connection = connect_jira(session, runtime, jira_url)
        if source_id is None:
            source_id = add_mail_source(session, runtime).id
        mailboxes.configure(
            session,
            source_id,
            mailboxes.MailboxSetup(
                connection_id=connection.id,
                default_board=SUP,
                default_category="general",
                categories=("general", "hardware"),
                labels=("mail",),
                addresses=(DESK,),
                blocked_senders=("spam.example",),
                rules=(
                    RoutingRule(
                        name="printers", board=SUP, subject_pattern="*printer*", category="hardware"
                    ),
                ),
            ),
            now=NOW,
        )
        session.commit()
        return source_id


@pytest.fixture
def desk(settings: Settings, engine: Engine, db: sessionmaker[Session]) -> Iterator[Desk]:
    yield from open_jira_desk(settings, engine)


def open_jira_desk(settings: Settings, engine: Engine) -> Iterator[Desk]:
    """The world the ``desk`` fixture yields."""
    transport = InProcessTransport(create_jira(seed="empty"))
    runtime = build_runtime(settings, engine=engine, clock=lambda: NOW)
    runtime.psa_transport = transport
    source_id = set_up_desk(runtime, JIRA_URL)
    jira = Jira(httpx.Client(transport=transport, base_url=JIRA_URL))
    yield Desk(runtime, jira, source_id)
    jira.http.close()
    transport.close()


@dataclass
class Relay:
    """An SMTP relay that keeps what it accepts; ``refuse`` answers the next N mails 451."""

    port: int
    received: list[EmailMessage] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)
    refuse: int = 0

    async def handle_DATA(self, server: SMTP, session: SmtpSession, envelope: Envelope) -> str:
        if self.refuse:
            self.refuse -= 1
            return "451 4.3.0 Mail server temporarily rejected message"
        raw = envelope.original_content or b""
        self.received.append(message_from_bytes(raw, policy=policy.default))  # type: ignore[arg-type]
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def relay() -> Iterator[Relay]:
    handler = Relay(_free_port())
    controller = Controller(handler, hostname="127.0.0.1", port=handler.port)
    controller.start()
    yield handler
    controller.stop()


@pytest.fixture
def autotask_desk(
    settings: Settings, engine: Engine, db: sessionmaker[Session]
) -> Iterator[AutotaskDesk]:
    """The desk with an Autotask target instead (tests/services/service_desk/autotask_desk.py)."""
    from tests.services.service_desk.autotask_desk import open_desk

    yield from open_desk(settings, engine)
