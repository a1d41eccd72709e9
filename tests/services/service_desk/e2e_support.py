"""A service-desk mailbox as it runs: mail delivered to a real Dovecot, read by the product's
own watcher (`ticketbridge mailbox watch`: IMAP IDLE, then the desk's processing), tickets made
in the Jira Cloud emulator or the Autotask emulator served on loopback ports, and read back
through each PSA's REST API as another user would."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
from imapclient import IMAPClient

from tests.factories import NOW
from tests.services.autotask_world import configure as configure_autotask
from tests.services.dovecot import DovecotServer
from tests.services.service_desk.conftest import DESK, SUP, Jira, connect_jira
from tests.web.test_desk_tickets_api import HELPDESK, Autotask
from ticketbridge.services.connections import named
from ticketbridge.services.mail import idle as mail_idle
from ticketbridge.services.mail import sources as mail_sources
from ticketbridge.services.mail import watch as mail_watch
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.service_desk import mailboxes, notify_settings
from ticketbridge.services.service_desk.notify_settings import NotifySetup
from ticketbridge.storage.models import ServiceDeskMailbox

WAIT = 60.0  # an upper bound for a condition, never a delay
SOURCE = "Support mailbox"


@dataclass(frozen=True)
class Ticket:
    id: int
    key: str
    title: str


class Psa(Protocol):
    kind: str
    board: str

    def tickets(self) -> list[Ticket]: ...
    def comments(self, ticket: Ticket) -> list[str]: ...
    def files(self, ticket: Ticket) -> list[str]: ...
    def delete(self, ticket: Ticket) -> None: ...
    def connection_id(self, runtime: Runtime) -> int: ...


class JiraSide:
    kind, board = "jira", SUP

    def __init__(self, url: str) -> None:
        self.url = url
        self.api = Jira(httpx.Client(base_url=url, timeout=30))

    def connection_id(self, runtime: Runtime) -> int:
        with runtime.session_factory() as session:
            connection = connect_jira(session, runtime, self.url)
            session.commit()
            return connection.id

    def tickets(self) -> list[Ticket]:
        return [Ticket(int(i["id"]), i["key"], i["fields"]["summary"]) for i in self.api.issues()]

    def comments(self, ticket: Ticket) -> list[str]:
        return self.api.comments(ticket.key)

    def files(self, ticket: Ticket) -> list[str]:
        answer = self.api.http.get(
            f"/rest/api/3/issue/{ticket.key}", params={"fields": "attachment"}
        )
        assert answer.is_success, answer.text
        return [a["filename"] for a in answer.json()["fields"]["attachment"]]

    def delete(self, ticket: Ticket) -> None:
        self.api.delete(ticket.key)

    def close(self) -> None:
        self.api.http.close()


class AutotaskSide:
    kind, board = "autotask", HELPDESK

    def __init__(self, url: str) -> None:
        self.url = url
        self.api = Autotask(url)
        self.company = self.api.company_named("Acme Logistics Inc.")

    def connection_id(self, runtime: Runtime) -> int:
        configure_autotask(runtime, api_host=self.url)
        with runtime.session_factory() as session:
            connection = named.first_of_kind(session, "autotask")
            assert connection is not None
            return connection.id

    def tickets(self) -> list[Ticket]:
        # The desk's tickets carry its de-duplication key; the seeded ones do not.
        query = {"filter": [{"op": "beginsWith", "field": "externalID", "value": "desk-"}]}
        answer = self.api.http.post("/Tickets/query", json=query)
        assert answer.is_success, answer.text
        found = sorted(answer.json()["items"], key=lambda t: t["id"])
        return [Ticket(int(t["id"]), t["ticketNumber"], t["title"]) for t in found]

    def comments(self, ticket: Ticket) -> list[str]:
        return [n["description"] for n in self.api.notes(ticket.id)]

    def files(self, ticket: Ticket) -> list[str]:
        return [a["title"] for a in self.api.attachments(ticket.id)]

    def delete(self, ticket: Ticket) -> None:
        gone = httpx.delete(f"{self.url}/_emulator/tickets/{ticket.id}", timeout=30)
        assert gone.is_success, gone.text

    def close(self) -> None:
        self.api.http.close()


def add_desk_mailbox(
    runtime: Runtime, psa: Psa, server: DovecotServer, account: tuple[str, str], **setup: Any
) -> int:
    """An IMAP source on Dovecot made a desk mailbox targeting ``psa``, as an admin sets it
    up; the source's id. ``setup`` changes the mailbox's settings (loop_limit, ...)."""
    connection_id = psa.connection_id(runtime)
    with runtime.session_factory() as session:
        source = mail_sources.create_source(
            session,
            runtime.secret_box,
            kind="imap",
            name=SOURCE,
            config={
                "host": server.host,
                "port": server.port,
                "security": "plain",
                "username": account[0],
                "timeout_seconds": 10,
            },
            secret=account[1],
            actor="test",
        )
        session.flush()
        company = getattr(psa, "company", None)
        mailboxes.configure(
            session,
            source.id,
            mailboxes.MailboxSetup(
                connection_id=connection_id,
                default_board=psa.board,
                default_category="general",
                categories=("general", "hardware"),
                addresses=(DESK,),
                blocked_senders=("spam.example",),
                company_id=company,
                **setup,
            ),
            now=NOW,
        )
        session.commit()
        return source.id


def notify_through(runtime: Runtime, source_id: int, relay_port: int) -> None:
    """The mailbox's notifications on, through the SMTP relay on ``relay_port``."""
    with runtime.session_factory() as session:
        mailbox = session.query(ServiceDeskMailbox).filter_by(source_id=source_id).one()
        setup = NotifySetup(
            enabled=True,
            transport="smtp",
            smtp={"host": "127.0.0.1", "port": relay_port, "security": "none"},
            body_template="Your ticket is $ticket_key.\n",
        )
        notify_settings.configure(session, runtime.secret_box, mailbox, setup, now=NOW)
        session.commit()


class _Watch(mail_watch.Watch):
    """The command's Watch, telling the test what its IDLE watchers report."""

    def __init__(self, runtime: Runtime, sources: list[mail_watch.Watched]) -> None:
        super().__init__(runtime, sources)
        self.last_event = ""
        self.changed = threading.Condition()

    def _on_idle_event(self, source_id: int, event: str) -> None:
        with self.changed:
            self.last_event = event
            self.changed.notify_all()
        super()._on_idle_event(source_id, event)


@dataclass
class Watching:
    """`ticketbridge mailbox watch`'s loop, run here: the lines it would print, per mail."""

    watch: _Watch
    lines: list[mail_watch.Line] = field(default_factory=list)

    def deliver(self, server: DovecotServer, account: tuple[str, str], *mails: bytes) -> None:
        self.wait_idle()
        deliver(server, account, *mails)

    def wait_idle(self) -> None:
        """Until the watcher idles, so the server announces what is delivered next (mail that
        arrives while it polls or before its IDLE starts is found by its next look instead)."""
        with self.watch.changed:
            idling = self.watch.changed.wait_for(
                lambda: self.watch.last_event == mail_idle.IDLING, WAIT
            )
        assert idling, f"the watcher did not idle within {WAIT} s ({self.watch.last_event})"

    def until(self, subject: str) -> mail_watch.Line:
        """The line of the mail with ``subject``, once the watcher has handled it."""
        deadline = time.monotonic() + WAIT
        while True:
            for line in self.lines:
                if line.mail_id and line.subject == subject:
                    return line
            if time.monotonic() > deadline:
                break
            self.lines.extend(self.watch.handled(timeout=1.0))
        raise AssertionError(f"no line for {subject!r} within {WAIT} s: {self.lines}")

    def mail_lines(self) -> list[tuple[str, str]]:
        return [(line.subject, line.outcome) for line in self.lines if line.mail_id]


@contextmanager
def watching(runtime: Runtime) -> Iterator[Watching]:
    chosen = mail_watch.choose(runtime, [SOURCE])
    running = _Watch(runtime, chosen)
    running.start()
    try:
        yield Watching(running)
    finally:
        running.stop()


def deliver(server: DovecotServer, account: tuple[str, str], *mails: bytes) -> None:
    """Mail delivered to the account's INBOX, as an MTA would, in order."""
    client = IMAPClient(server.host, port=server.port, ssl=False, timeout=10)
    client.login(*account)
    try:
        for raw in mails:
            client.append("INBOX", raw)
    finally:
        client.logout()
