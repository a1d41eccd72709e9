"""IMAP IDLE watchers against a real Dovecot: announced mail is polled at once, one poller per
source, errors recorded and retried, prompt shutdown."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from imapclient import IMAPClient
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import NOW
from tests.services.dovecot import DovecotServer, dovecot
from tests.services.mail_support import report_mail
from ticketbridge.services.mail import idle as mail_idle
from ticketbridge.services.mail import inbox
from ticketbridge.services.mail import sources as mail_sources
from ticketbridge.services.mail.idle import IdlePolicy, IdleWatcher
from ticketbridge.services.runs import catalog
from ticketbridge.services.runtime import Runtime, build_runtime
from ticketbridge.settings import Settings
from ticketbridge.storage.models import MailMessage, MailSource, Run
from ticketbridge.web.app import create_app

__all__ = ["dovecot"]

WAIT = 20.0  # an upper bound for a condition, never a delay
FAST = IdlePolicy(busy_retry_seconds=0.05, backoff_first_seconds=0.05, backoff_max_seconds=0.1)


class Events:
    """What the watchers reported, in order; tests wait on it instead of sleeping."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, str]] = []
        self._changed = threading.Condition()

    def __call__(self, source_id: int, event: str) -> None:
        with self._changed:
            self.seen.append((source_id, event))
            self._changed.notify_all()

    def count(self, event: str) -> int:
        return sum(1 for _, e in self.seen if e == event)

    def wait_for(self, event: str, times: int = 1) -> None:
        with self._changed:
            reached = self._changed.wait_for(lambda: self.count(event) >= times, WAIT)
        assert reached, f"no {event!r} x{times} within {WAIT} s; seen: {self.seen}"


@pytest.fixture
def runtime(settings: Settings, engine: Engine, db: sessionmaker[Session]) -> Runtime:
    return build_runtime(settings, engine=engine, clock=lambda: NOW)


@pytest.fixture
def account(dovecot: DovecotServer) -> tuple[str, str]:
    return dovecot.add_user()


@pytest.fixture
def mailbox(dovecot: DovecotServer, account: tuple[str, str]) -> Iterator[IMAPClient]:
    client = IMAPClient(dovecot.host, port=dovecot.port, ssl=False, timeout=10)
    client.login(*account)
    yield client
    client.logout()


@pytest.fixture
def events() -> Events:
    return Events()


@pytest.fixture
def watchers() -> Iterator[list[Any]]:
    """Whatever a test starts is stopped, even when the test fails."""
    started: list[Any] = []
    yield started
    for item in started:
        item.stop()


def _add_source(
    runtime: Runtime,
    server: DovecotServer,
    account: tuple[str, str],
    *,
    kind: str = "imap",
    enabled: bool = True,
    name: str = "Dovecot",
) -> int:
    config: dict[str, Any] = {
        "host": server.host,
        "port": server.port,
        "security": "plain",
        "username": account[0],
        "timeout_seconds": 10,
    }
    with runtime.session_factory() as session:
        if kind == "smtp":
            config = {"port": 0, "accepted_recipients": ["*"]}
        source = mail_sources.create_source(
            session,
            runtime.secret_box,
            kind=kind,
            name=name,
            config=config,
            secret=account[1] if kind == "imap" else None,
            enabled=enabled,
            actor="test",
        )
        session.commit()
        return source.id


def _route_acme_mail(runtime: Runtime) -> None:
    """Mail from acme.example becomes runs without waiting for approval."""
    with runtime.session_factory() as session:
        customer = catalog.create_customer(session, "Acme", actor="test")
        inbox.create_rule(
            session, sender="acme.example", subject_pattern="", customer_id=customer.id, actor="t"
        )
        session.commit()


def _watch(runtime: Runtime, source_id: int, events: Events, started: list[Any], **kw: Any) -> Any:
    watcher = IdleWatcher(runtime, source_id, policy=FAST, observer=events, **kw).start()
    started.append(watcher)
    return watcher


def _stored(runtime: Runtime) -> tuple[int, int]:
    with runtime.session_factory() as session:
        mails = session.scalar(select(func.count(MailMessage.id))) or 0
        runs = session.scalar(select(func.count(Run.id))) or 0
        return mails, runs


def _source(runtime: Runtime, source_id: int) -> MailSource:
    with runtime.session_factory() as session:
        source = session.get(MailSource, source_id)
        assert source is not None
        return source


def _in(client: IMAPClient, folder: str) -> int:
    client.select_folder(folder, readonly=True)
    return len(client.search(["ALL"]))


def test_mail_announced_by_idle_is_polled_into_stored_mail_and_runs_at_once(
    runtime: Runtime,
    dovecot: DovecotServer,
    account: tuple[str, str],
    mailbox: IMAPClient,
    events: Events,
    watchers: list[Any],
) -> None:
    _route_acme_mail(runtime)
    source_id = _add_source(runtime, dovecot, account)
    # The IDLE cycle is far longer than the wait below: only an announcement can explain a poll.
    _watch(runtime, source_id, events, watchers)
    events.wait_for(mail_idle.IDLING)
    assert _stored(runtime) == (0, 0)

    mailbox.append("INBOX", report_mail(1))
    events.wait_for(mail_idle.POLLED)

    assert _stored(runtime) == (1, 1)
    source = _source(runtime, source_id)
    assert source.last_error == "" and source.last_success_at == NOW
    assert source.stored_count == 1 and source.lease_until is None
    assert source.watermark is not None and source.watermark["last_uid"] == 1
    assert _in(mailbox, "INBOX") == 0 and _in(mailbox, "Processed") == 1

    events.wait_for(mail_idle.IDLING, times=2)  # back to idling, now from the new watermark
    mailbox.append("INBOX", report_mail(2))
    events.wait_for(mail_idle.POLLED, times=2)
    assert _stored(runtime) == (2, 2)


def test_stop_ends_an_idling_watcher_promptly(
    runtime: Runtime,
    dovecot: DovecotServer,
    account: tuple[str, str],
    events: Events,
    watchers: list[Any],
) -> None:
    source_id = _add_source(runtime, dovecot, account)
    watcher = _watch(runtime, source_id, events, watchers)  # IDLE cycle: 10 minutes
    events.wait_for(mail_idle.IDLING)

    watcher.stop()  # joins for at most policy.join_seconds

    assert not watcher.alive
    assert events.seen[-1] == (source_id, mail_idle.STOPPED)
    assert mail_idle.ERROR not in {e for _, e in events.seen}
    assert _source(runtime, source_id).last_error == ""


def test_a_watcher_never_reads_a_source_another_poller_holds_and_polls_once_it_is_free(
    runtime: Runtime,
    dovecot: DovecotServer,
    account: tuple[str, str],
    mailbox: IMAPClient,
    events: Events,
    watchers: list[Any],
) -> None:
    _route_acme_mail(runtime)
    source_id = _add_source(runtime, dovecot, account)
    _watch(runtime, source_id, events, watchers)
    events.wait_for(mail_idle.IDLING)
    with runtime.session_factory() as session:  # the periodic poll is reading the source
        session.execute(
            update(MailSource)
            .where(MailSource.id == source_id)
            .values(lease_until=NOW + timedelta(minutes=5))
        )
        session.commit()

    mailbox.append("INBOX", report_mail(1))
    events.wait_for(mail_idle.BUSY, times=2)
    assert _stored(runtime) == (0, 0) and _in(mailbox, "INBOX") == 1
    assert events.count(mail_idle.POLLED) == 0

    with runtime.session_factory() as session:  # that poller is done
        session.execute(
            update(MailSource).where(MailSource.id == source_id).values(lease_until=None)
        )
        session.commit()
    events.wait_for(mail_idle.POLLED)
    assert _stored(runtime) == (1, 1) and _in(mailbox, "INBOX") == 0


def test_a_refused_password_is_recorded_and_the_watcher_retries_until_it_is_fixed(
    runtime: Runtime,
    dovecot: DovecotServer,
    account: tuple[str, str],
    mailbox: IMAPClient,
    events: Events,
    watchers: list[Any],
) -> None:
    _route_acme_mail(runtime)
    source_id = _add_source(runtime, dovecot, (account[0], "not-the-password"))
    watcher = _watch(runtime, source_id, events, watchers)

    events.wait_for(mail_idle.ERROR, times=2)  # backed off and tried again: still alive
    assert watcher.alive
    assert "refused the username or password" in _source(runtime, source_id).last_error

    with runtime.session_factory() as session:
        mail_sources.update_source(
            session, runtime.secret_box, source_id, secret=account[1], actor="test"
        )
        session.commit()
    events.wait_for(mail_idle.IDLING)
    mailbox.append("INBOX", report_mail(1))
    events.wait_for(mail_idle.POLLED)
    assert _stored(runtime) == (1, 1)
    assert _source(runtime, source_id).last_error == ""  # the successful poll cleared it


def test_an_unreachable_server_is_recorded_as_unavailable(
    runtime: Runtime,
    dovecot: DovecotServer,
    account: tuple[str, str],
    events: Events,
    watchers: list[Any],
) -> None:
    source_id = _add_source(runtime, dovecot, account)
    with runtime.session_factory() as session:
        source = session.get(MailSource, source_id)
        assert source is not None
        source.config = {**source.config, "port": _closed_port()}
        session.commit()

    watcher = _watch(runtime, source_id, events, watchers)
    events.wait_for(mail_idle.ERROR)

    assert watcher.alive
    assert "Could not reach IMAP server 127.0.0.1" in _source(runtime, source_id).last_error


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # free again once closed: nobody listens there


class _WithoutIdle(IMAPClient):
    """Dovecot as a server without IDLE (RFC 2177) would look."""

    def has_capability(self, capability: str) -> bool:
        return capability.upper() != "IDLE" and bool(super().has_capability(capability))


def test_a_server_without_idle_leaves_the_source_to_the_periodic_poll(
    runtime: Runtime,
    dovecot: DovecotServer,
    account: tuple[str, str],
    events: Events,
    watchers: list[Any],
) -> None:
    source_id = _add_source(runtime, dovecot, account)

    def without_idle(source: MailSource) -> Any:
        return mail_sources.connector_for(source, runtime.secret_box, client_class=_WithoutIdle)

    watcher = _watch(runtime, source_id, events, watchers, connector_factory=without_idle)
    events.wait_for(mail_idle.STOPPED)

    assert [e for _, e in events.seen] == [mail_idle.NO_IDLE, mail_idle.STOPPED]
    assert not watcher.alive and _source(runtime, source_id).last_error == ""


def test_a_disabled_source_ends_its_watcher(
    runtime: Runtime,
    dovecot: DovecotServer,
    account: tuple[str, str],
    events: Events,
    watchers: list[Any],
) -> None:
    source_id = _add_source(runtime, dovecot, account, enabled=False)
    watcher = _watch(runtime, source_id, events, watchers)
    events.wait_for(mail_idle.STOPPED)
    assert [e for _, e in events.seen] == [mail_idle.GONE, mail_idle.STOPPED]
    assert not watcher.alive


def test_serve_starts_a_watcher_per_enabled_imap_source_and_stops_them_at_shutdown(
    settings: Settings,
    engine: Engine,
    runtime: Runtime,
    dovecot: DovecotServer,
    events: Events,
) -> None:
    watched = _add_source(runtime, dovecot, dovecot.add_user(), name="watched")
    _add_source(runtime, dovecot, dovecot.add_user(), name="off", enabled=False)
    _add_source(runtime, dovecot, ("-", "-"), kind="smtp", name="smtp", enabled=False)
    app = create_app(
        settings,
        engine=engine,
        background=mail_idle.with_watchers(None, policy=FAST, observer=events),
    )

    with TestClient(app):
        events.wait_for(mail_idle.IDLING)
        assert {source for source, _ in events.seen} == {watched}
        threads = [t for t in threading.enumerate() if t.name.startswith("tb-imap-idle-")]
        assert [t.name for t in threads] == [f"tb-imap-idle-{watched}"]

    assert events.seen[-1] == (watched, mail_idle.STOPPED)
    assert not any(t.is_alive() for t in threads)
