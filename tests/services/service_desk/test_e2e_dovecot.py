"""A service-desk mailbox end to end, for each PSA: mail delivered to a real Dovecot, read by
the watcher `ticketbridge mailbox watch` runs (IMAP IDLE, then the desk's processing), tickets
and comments made over HTTP in the Jira Cloud emulator or the Autotask emulator on loopback
ports, the sender's notification captured by an SMTP relay (aiosmtpd), and
`ticketbridge mailbox check-missing` run as a command.

What these cover per PSA is what an operator relies on once the mailbox is live; the rules
behind each step are tested on their own in tests/core/service_desk and, in-process, in the
other modules of this folder.
"""

from __future__ import annotations

from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from tests.conftest import TEST_SECRET_KEY
from tests.factories import NOW
from tests.services.dovecot import DovecotServer, dovecot
from tests.services.service_desk.conftest import DESK, Relay, mail
from tests.services.service_desk.e2e_support import (
    SOURCE,
    AutotaskSide,
    JiraSide,
    Psa,
    add_desk_mailbox,
    deliver,
    notify_through,
    watching,
)
from tests.web.serving import serve
from ticketbridge.cli.main import app
from ticketbridge.emulators.autotask import create_app as create_autotask
from ticketbridge.emulators.jira import create_app as create_jira
from ticketbridge.services.mail import idle as mail_idle
from ticketbridge.services.mail import polling as mail_polling
from ticketbridge.services.mail import watch as mail_watch
from ticketbridge.services.runtime import Runtime, build_runtime
from ticketbridge.services.service_desk.process import process_pending
from ticketbridge.settings import Settings, get_settings

__all__ = ["dovecot"]  # a fixture

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 4


@pytest.fixture(params=["jira", "autotask"])
def psa(request: pytest.FixtureRequest) -> Iterator[Psa]:
    if request.param == "jira":
        with serve(create_jira(seed="empty")) as url:
            jira = JiraSide(url)
            yield jira
            jira.close()
    else:
        with serve(create_autotask(seed="demo")) as url:
            autotask = AutotaskSide(url)
            yield autotask
            autotask.close()


@pytest.fixture
def runtime(
    monkeypatch: pytest.MonkeyPatch,
    settings: Settings,
    engine: Engine,
    database_url: str,
    tmp_path: Path,
    db: sessionmaker[Session],
) -> Iterator[Runtime]:
    """The product on the real clock; the CLI, run in this process, opens the same database."""
    monkeypatch.setenv("TICKETBRIDGE_DATABASE_URL", database_url)
    monkeypatch.setenv("TICKETBRIDGE_SECRET_KEY", TEST_SECRET_KEY)
    monkeypatch.setenv("TICKETBRIDGE_VAR_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    yield build_runtime(settings, engine=engine)
    get_settings.cache_clear()


@pytest.fixture
def account(dovecot: DovecotServer) -> tuple[str, str]:
    return dovecot.add_user()


def mail_with_file(n: int | str, subject: str) -> bytes:
    message = EmailMessage()
    message["From"] = "Ann Example <ann@customer.example>"
    message["To"] = f"Support <{DESK}>"
    message["Subject"] = subject
    message["Message-ID"] = f"<{n}@customer.example>"
    message["Date"] = format_datetime(NOW)
    message.set_content("The printer does not print; its log is attached.")
    message.add_attachment(PDF, "application", "pdf", filename="printer.pdf")
    return message.as_bytes()


def reply_to(notification: EmailMessage, n: str, body: str) -> bytes:
    """The sender answering our notification in their mail client: threaded to it."""
    references = f"{notification['References']} {notification['Message-ID']}"
    return (
        f"From: Ann Example <ann@customer.example>\r\nTo: Support <{DESK}>\r\n"
        f"Subject: Re: {notification['Subject']}\r\nMessage-ID: <{n}@customer.example>\r\n"
        f"In-Reply-To: {notification['Message-ID']}\r\nReferences: {references}\r\n"
        f"Date: {format_datetime(NOW)}\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        f"{body}\r\n"
    ).encode()


def test_a_mail_makes_one_ticket_with_its_file_the_sender_hears_back_and_a_reply_is_a_comment(
    runtime: Runtime,
    psa: Psa,
    dovecot: DovecotServer,
    account: tuple[str, str],
    relay: Relay,
) -> None:
    source_id = add_desk_mailbox(runtime, psa, dovecot, account)
    notify_through(runtime, source_id, relay.port)
    first = mail_with_file(1, "Printer on floor 2 is offline")
    with watching(runtime) as watch:
        watch.deliver(dovecot, account, first)
        opened = watch.until("Printer on floor 2 is offline")
        [ticket] = psa.tickets()
        assert (opened.outcome, opened.detail.split()[0]) == ("ticket", ticket.key)
        assert ticket.title == "Printer on floor 2 is offline"
        assert psa.files(ticket) == ["printer.pdf"]

        # The notification: the ticket's key, threaded to the sender's mail, marked as ours.
        [note] = relay.received
        assert relay.recipients == [["ann@customer.example"]]
        assert note["Subject"] == f"[{ticket.key}] Re: Printer on floor 2 is offline"
        assert note["In-Reply-To"] == "<1@customer.example>"
        assert note["X-Ticketbridge-Notification"] == ticket.key

        # The sender answers it; the same first mail is delivered once more (a relay's retry);
        # a new request follows, so the watcher has certainly read the two before it.
        answer = reply_to(note, "2", "Still down after a restart.")
        watch.deliver(dovecot, account, answer, first, mail(3, subject="Scanner jams"))
        commented = watch.until(f"Re: [{ticket.key}] Re: Printer on floor 2 is offline")
        watch.until("Scanner jams")

    assert (commented.outcome, commented.detail.split()[0]) == ("comment", ticket.key)
    first_ticket, second_ticket = psa.tickets()
    assert first_ticket == ticket and second_ticket.title == "Scanner jams"
    [comment] = psa.comments(ticket)
    assert "Still down after a restart." in comment
    assert psa.files(ticket) == ["printer.pdf"]  # once: neither the reply nor the copy resent it
    # The re-delivered copy was stored once and handled once: the watcher printed nothing for it.
    assert watch.mail_lines() == [
        ("Printer on floor 2 is offline", "ticket"),
        (f"Re: [{ticket.key}] Re: Printer on floor 2 is offline", "comment"),
        ("Scanner jams", "ticket"),
    ]
    # One notification per ticket, none for the comment.
    assert [n["Subject"] for n in relay.received] == [
        f"[{ticket.key}] Re: Printer on floor 2 is offline",
        f"[{second_ticket.key}] Re: Scanner jams",
    ]


def test_auto_replies_blocked_senders_and_a_loop_make_nothing_and_the_watcher_says_why(
    runtime: Runtime,
    psa: Psa,
    dovecot: DovecotServer,
    account: tuple[str, str],
    relay: Relay,
) -> None:
    source_id = add_desk_mailbox(runtime, psa, dovecot, account, loop_limit=2)
    notify_through(runtime, source_id, relay.port)
    looping = "robot@monitor.example"
    with watching(runtime) as watch:
        watch.deliver(
            dovecot,
            account,
            mail(
                "ooo",
                subject="Automatic reply: Printer",
                headers="Auto-Submitted: auto-replied\r\n",
            ),
            mail("spam", sender="offers@spam.example", subject="Cheap printers"),
            *(mail(f"loop{n}", sender=looping, subject=f"Alert {n}") for n in range(1, 4)),
        )
        ooo = watch.until("Automatic reply: Printer")
        spam = watch.until("Cheap printers")
        held = watch.until("Alert 3")

    assert (ooo.outcome, ooo.detail) == (
        "filtered",
        "An automatic message (Auto-Submitted: auto-replied).",
    )
    assert (spam.outcome, spam.detail) == ("filtered", "offers@spam.example is blocked.")
    assert held.outcome == "held"
    assert held.detail.startswith(f"{looping}: 2 tickets in the last 60 minutes")
    assert [t.title for t in psa.tickets()] == ["Alert 1", "Alert 2"]
    # Only the two tickets were answered: no auto-reply answered, nothing for the held mail.
    assert relay.recipients == [[looping], [looping]]


def test_a_reply_to_a_ticket_deleted_in_the_psa_opens_a_new_ticket_and_says_so(
    runtime: Runtime, psa: Psa, dovecot: DovecotServer, account: tuple[str, str]
) -> None:
    add_desk_mailbox(runtime, psa, dovecot, account)
    with watching(runtime) as watch:
        watch.deliver(dovecot, account, mail(1, subject="VPN drops every hour"))
        watch.until("VPN drops every hour")
        [gone] = psa.tickets()
        psa.delete(gone)

        watch.deliver(
            dovecot, account, mail(2, subject="Re: VPN drops", in_reply_to="1@customer.example")
        )
        reopened = watch.until("Re: VPN drops")
        watch.deliver(
            dovecot, account, mail(3, subject="Re: VPN again", in_reply_to="1@customer.example")
        )
        later = watch.until("Re: VPN again")

    [ticket] = psa.tickets()
    assert ticket.key != gone.key
    assert reopened.outcome == "ticket"
    assert reopened.detail == (
        f"{ticket.key} {gone.key} was deleted in the PSA; {ticket.key} was opened instead and "
        "replaces it."
    )
    # A later reply in the thread goes to the new ticket, not to a third one.
    assert (later.outcome, later.detail.split()[0]) == ("comment", ticket.key)
    assert len(psa.comments(ticket)) == 1


def test_check_missing_fixes_a_mail_stored_while_nothing_handled_desk_mail(
    runtime: Runtime, psa: Psa, dovecot: DovecotServer, account: tuple[str, str]
) -> None:
    source_id = add_desk_mailbox(runtime, psa, dovecot, account)
    # The watcher was down: serve's periodic poll stored the mail, nothing made its ticket.
    deliver(dovecot, account, mail("dropped", subject="Laptop will not boot"))
    assert mail_polling.poll(runtime, source_id).stored == 1
    assert psa.tickets() == []

    runner = CliRunner()
    listed = runner.invoke(app, ["mailbox", "check-missing", "--days", "1"])
    assert listed.exit_code == 0, listed.output
    said = " ".join(listed.output.split())  # the console wraps long lines at its width
    assert "ann@customer.example Laptop will not boot <dropped@customer.example>" in said
    assert "1 mail(s) of the last 1 day(s) made nothing." in said

    fixed = runner.invoke(app, ["mailbox", "check-missing", "--days", "1", "--fix"])
    assert fixed.exit_code == 0, fixed.output
    assert "fixed: 1 ticket" in fixed.output
    [ticket] = psa.tickets()
    assert ticket.title == "Laptop will not boot"

    # The watcher back: the fixed mail is not made again, and a reply finds its ticket.
    with watching(runtime) as watch:
        watch.deliver(
            dovecot,
            account,
            mail("r", subject="Re: Laptop", in_reply_to="dropped@customer.example"),
        )
        reply = watch.until("Re: Laptop")
    assert (reply.outcome, reply.detail.split()[0]) == ("comment", ticket.key)
    assert psa.tickets() == [ticket]
    again = runner.invoke(app, ["mailbox", "check-missing", "--days", "1"])
    assert "0 mail(s) of the last 1 day(s) made nothing." in again.output


def test_the_watcher_tells_what_a_desk_mail_made_when_another_worker_handled_it_first(
    runtime: Runtime, psa: Psa, dovecot: DovecotServer, account: tuple[str, str]
) -> None:
    source_id = add_desk_mailbox(runtime, psa, dovecot, account)
    watch = mail_watch.Watch(runtime, mail_watch.choose(runtime, [SOURCE]))
    # A poll stores the mail, and serve's worker makes its ticket before the watcher's round
    # (on PostgreSQL a poll thread storing during the round did the same).
    deliver(dovecot, account, mail("busy", subject="Monitor flickers"))
    assert mail_polling.poll(runtime, source_id).stored == 1
    [handled] = process_pending(runtime)
    watch._on_idle_event(source_id, mail_idle.POLLED)  # what that poll tells its watcher

    [line] = watch.handled(timeout=0)

    assert (line.subject, line.outcome) == ("Monitor flickers", "ticket")
    assert line.detail.split()[0] == handled.ticket_key == psa.tickets()[0].key
