"""Polling a source: fetch, store, watermark, move; one poller at a time; errors recorded."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import NOW
from tests.services.mail_support import report_mail
from ticketbridge.connectors.errors import ConnectorAuthError
from ticketbridge.connectors.mail.base import FetchBatch, FetchedMail, Watermark
from ticketbridge.services.mail import polling as mail_polling
from ticketbridge.services.mail import sources as mail_sources
from ticketbridge.services.runtime import Runtime, build_runtime
from ticketbridge.settings import Settings
from ticketbridge.storage.models import MailMessage, MailSource


@dataclass
class FakeMailbox:
    """An in-memory MailSource: pages of two, moves what it is told to."""

    mails: list[bytes]
    error: Exception | None = None
    moved: list[str] = field(default_factory=list)
    seen_watermarks: list[Watermark | None] = field(default_factory=list)
    closed: bool = False

    def fetch(self, watermark: Watermark | None) -> FetchBatch:
        self.seen_watermarks.append(watermark)
        if self.error is not None:
            raise self.error
        start = int((watermark or {}).get("next", 0))
        page = self.mails[start : start + 2]
        return FetchBatch(
            messages=[
                FetchedMail(raw=raw, source_id=str(start + i), received_at=NOW)
                for i, raw in enumerate(page)
            ],
            watermark={"next": start + len(page)},
            more=start + len(page) < len(self.mails),
        )

    def mark_processed(self, ids: Sequence[str]) -> None:
        self.moved.extend(ids)

    def check(self) -> str:
        return "ok"

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def runtime(settings: Settings, engine: Engine, db: sessionmaker[Session]) -> Runtime:
    return build_runtime(settings, engine=engine, clock=lambda: NOW)


# Long and distinctive: a two-letter password turns up by chance inside its own ciphertext.
PASSWORD = "imap-password-7421"


def _imap_source(runtime: Runtime, **config: Any) -> int:
    with runtime.session_factory() as session:
        source = mail_sources.create_source(
            session,
            runtime.secret_box,
            kind="imap",
            name="Backups mailbox",
            config={"host": "127.0.0.1", "security": "plain", "username": "u", **config},
            secret=PASSWORD,
            actor="test",
        )
        session.commit()
        return source.id


def test_poll_stores_every_page_persists_the_watermark_and_moves_the_mail(
    runtime: Runtime,
) -> None:
    source_id = _imap_source(runtime)
    box = FakeMailbox([report_mail(n) for n in range(1, 6)] + [report_mail(1)])
    result = mail_polling.poll(runtime, source_id, connector_factory=lambda _: box)
    assert (result.fetched, result.stored, result.duplicates, result.error) == (6, 5, 1, "")
    assert box.moved == ["0", "1", "2", "3", "4", "5"] and box.closed
    assert box.seen_watermarks == [None, {"next": 2}, {"next": 4}]
    with runtime.session_factory() as session:
        source = session.get(MailSource, source_id)
        assert source is not None and source.watermark == {"next": 6}
        assert (source.fetched_count, source.stored_count, source.duplicate_count) == (6, 5, 1)
        assert source.last_success_at == NOW and source.lease_until is None
        assert session.scalar(select(func.count(MailMessage.id))) == 5
        assert {m.source_id for m in session.scalars(select(MailMessage))} == {source_id}


def test_a_connector_error_is_recorded_and_the_source_released(runtime: Runtime) -> None:
    source_id = _imap_source(runtime)
    box = FakeMailbox([], error=ConnectorAuthError("IMAP server refused the password."))
    result = mail_polling.poll(runtime, source_id, connector_factory=lambda _: box)
    assert result.error == "IMAP server refused the password."
    with runtime.session_factory() as session:
        source = session.get(MailSource, source_id)
        assert source is not None and source.last_error == result.error
        assert source.last_success_at is None and source.lease_until is None


def test_a_source_held_by_another_poller_is_not_polled_twice(runtime: Runtime) -> None:
    source_id = _imap_source(runtime)
    with runtime.session_factory() as session:
        session.get(MailSource, source_id).lease_until = NOW + timedelta(minutes=5)  # type: ignore[union-attr]
        session.commit()
    box = FakeMailbox([report_mail(1)])
    result = mail_polling.poll(runtime, source_id, connector_factory=lambda _: box)
    assert not result.polled and box.seen_watermarks == []


def test_an_expired_lease_of_a_crashed_poller_is_taken_over(runtime: Runtime) -> None:
    source_id = _imap_source(runtime)
    with runtime.session_factory() as session:
        session.get(MailSource, source_id).lease_until = NOW - timedelta(seconds=1)  # type: ignore[union-attr]
        session.commit()
    box = FakeMailbox([report_mail(1)])
    assert mail_polling.poll(runtime, source_id, connector_factory=lambda _: box).stored == 1


def test_a_disabled_source_is_not_polled_and_not_due(runtime: Runtime) -> None:
    source_id = _imap_source(runtime)
    with runtime.session_factory() as session:
        assert mail_polling.due_sources(session, NOW) == [source_id]
        mail_sources.update_source(
            session, runtime.secret_box, source_id, enabled=False, actor="test"
        )
        session.commit()
        assert mail_polling.due_sources(session, NOW) == []
    box = FakeMailbox([report_mail(1)])
    assert not mail_polling.poll(runtime, source_id, connector_factory=lambda _: box).polled


def test_a_source_is_due_again_after_its_interval(runtime: Runtime) -> None:
    source_id = _imap_source(runtime, poll_interval_seconds=300)
    mail_polling.poll(runtime, source_id, connector_factory=lambda _: FakeMailbox([]))
    with runtime.session_factory() as session:
        assert mail_polling.due_sources(session, NOW + timedelta(seconds=60)) == []
        assert mail_polling.due_sources(session, NOW + timedelta(seconds=300)) == [source_id]


def test_the_secret_is_stored_encrypted_and_kept_when_left_empty(runtime: Runtime) -> None:
    source_id = _imap_source(runtime)
    with runtime.session_factory() as session:
        source = session.get(MailSource, source_id)
        assert source is not None and source.secret and PASSWORD not in source.secret
        assert "password" not in source.config
        before = source.secret
        mail_sources.update_source(
            session,
            runtime.secret_box,
            source_id,
            config={"host": "127.0.0.1", "security": "plain", "username": "u", "folder": "Backups"},
            secret="",
            actor="test",
        )
        assert source.secret == before and source.config["folder"] == "Backups"
        view = mail_sources.SourceView.of(source)
        assert view.has_secret and PASSWORD not in repr(view)


def test_an_invalid_config_is_refused_with_the_field(runtime: Runtime) -> None:
    with runtime.session_factory() as session, pytest.raises(mail_sources.SourceError) as err:
        mail_sources.create_source(
            session,
            runtime.secret_box,
            kind="imap",
            name="Plain over the network",
            config={"host": "mail.example.com", "security": "plain", "username": "u"},
            secret="pw",
            actor="test",
        )
    assert "loopback" in str(err.value)


# A guard against a hang, not a timing: the events below are set as soon as the other side
# gets there, or never.
MEETING_WAIT_S = 30


def test_the_next_batch_is_fetched_while_this_one_is_stored_and_moved_after_its_watermark(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    source_id = _imap_source(runtime)
    storing_first, fetching_second = threading.Event(), threading.Event()
    moves: list[tuple[list[str], Any]] = []

    class Box(FakeMailbox):
        def fetch(self, watermark: Watermark | None) -> FetchBatch:
            if watermark == {"next": 2}:
                fetching_second.set()
                assert storing_first.wait(MEETING_WAIT_S), "the first batch was never stored"
            return super().fetch(watermark)

        def mark_processed(self, ids: Sequence[str]) -> None:
            with runtime.session_factory() as session:
                saved = session.get(MailSource, source_id).watermark  # type: ignore[union-attr]
            moves.append((list(ids), saved))
            super().mark_processed(ids)

    accept_batch = mail_polling.mail_batch.accept_batch

    def storing(*args: Any, **kwargs: Any) -> Any:
        if not storing_first.is_set():
            storing_first.set()
            assert fetching_second.wait(MEETING_WAIT_S), "the next batch waited for this one"
        return accept_batch(*args, **kwargs)

    monkeypatch.setattr(mail_polling.mail_batch, "accept_batch", storing)
    box = Box([report_mail(n) for n in range(1, 6)])
    result = mail_polling.poll(runtime, source_id, connector_factory=lambda _: box)

    assert (result.stored, result.error) == (5, "")
    assert [ids for ids, _ in moves if ids] == [["0", "1"], ["2", "3"], ["4"]]
    for ids, saved in moves:
        assert not ids or saved["next"] > int(ids[-1])  # moved only once its watermark was saved


def test_a_failed_fetch_of_the_next_batch_keeps_the_stored_batch_saved_and_moved(
    runtime: Runtime,
) -> None:
    source_id = _imap_source(runtime)

    class Box(FakeMailbox):
        def fetch(self, watermark: Watermark | None) -> FetchBatch:
            if watermark == {"next": 2}:
                raise ConnectorAuthError("IMAP server refused the password.")
            return super().fetch(watermark)

    box = Box([report_mail(n) for n in range(1, 6)])
    result = mail_polling.poll(runtime, source_id, connector_factory=lambda _: box)
    assert (result.stored, result.error) == (2, "IMAP server refused the password.")
    assert box.moved == ["0", "1"] and box.closed
    with runtime.session_factory() as session:
        source = session.get(MailSource, source_id)
        assert source is not None and source.watermark == {"next": 2}
