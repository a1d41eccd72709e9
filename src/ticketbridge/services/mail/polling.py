"""Polling one mail source: fetch, store (services.mail_batch), persist the watermark, then move
the stored mail to the processed folder; repeat while the source says more is waiting.

One poller per source at a time, whatever runs it (the in-process runner, procrastinate workers
on several machines, `ticketbridge mail sources poll`): a poller takes a lease on the source row
with one conditional UPDATE and gives it back when done; a crashed poller's lease expires.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from contextvars import copy_context
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from ticketbridge.connectors.errors import ConnectorError
from ticketbridge.connectors.mail.base import Watermark
from ticketbridge.services.mail import batch as mail_batch
from ticketbridge.services.mail import sources as mail_sources
from ticketbridge.services.runtime import Runtime
from ticketbridge.storage.db import session_scope
from ticketbridge.storage.models import MailSource
from ticketbridge.storage.secrets import SecretUnreadable

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=15)
MAX_BATCHES = 200
DEFAULT_INTERVAL_SECONDS = 60


@dataclass
class PollResult:
    source_id: int
    polled: bool = True  # False: another poller holds the source, or it is disabled
    fetched: int = 0
    stored: int = 0
    duplicates: int = 0
    error: str = ""


def _acquire(factory: sessionmaker[Session], source_id: int, now: datetime) -> bool:
    with session_scope(factory) as session:
        result = session.execute(
            update(MailSource)
            .where(
                MailSource.id == source_id,
                MailSource.enabled.is_(True),
                or_(MailSource.lease_until.is_(None), MailSource.lease_until < now),
            )
            .values(lease_until=now + LEASE, last_poll_at=now)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0) == 1


def poll(
    runtime: Runtime,
    source_id: int,
    *,
    connector_factory: Callable[[MailSource], Any] | None = None,
) -> PollResult:
    """Poll one source until it has nothing more; errors are recorded on the source row."""
    factory = runtime.session_factory
    result = PollResult(source_id)
    if not _acquire(factory, source_id, runtime.clock()):
        result.polled = False
        return result
    connector: Any = None
    try:
        with factory() as session:
            source = mail_sources.get_source(session, source_id)
            watermark = dict(source.watermark) if source.watermark else None
            connector = (connector_factory or _default_factory(runtime))(source)
        _poll_batches(runtime, source_id, connector, watermark, result)
    except (ConnectorError, SecretUnreadable, mail_sources.SourceError) as exc:
        result.error = str(exc)[:2000]
        log.warning("polling mail source %s failed: %s", source_id, result.error)
    except Exception as exc:  # a bug or a database failure: shown on the source, not lost
        log.exception("polling mail source %s failed", source_id)
        result.error = f"internal error while polling: {type(exc).__name__}"
    finally:
        if connector is not None:
            connector.close()
        _finish(factory, source_id, result, runtime.clock())
    return result


def _poll_batches(
    runtime: Runtime,
    source_id: int,
    connector: Any,
    watermark: Watermark | None,
    result: PollResult,
) -> None:
    """Store batch after batch until the source has no more. While a batch is stored, another
    thread moves the previous one and fetches the next, so the mailbox and the database work at
    once; the connector is still used by one thread at a time. A batch is moved only after its
    watermark is saved."""
    batch = connector.fetch(watermark)
    stored: list[str] = []  # the ids of the batch stored last, not moved yet
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="mailbox") as mailbox:
        for turn in range(1, MAX_BATCHES + 1):
            ahead = dict(batch.watermark) if batch.more and turn < MAX_BATCHES else None
            errand = mailbox.submit(copy_context().run, _move_and_fetch, connector, stored, ahead)
            try:
                stored = _store_batch(runtime, source_id, batch, result)
                _save_watermark(runtime.session_factory, source_id, dict(batch.watermark))
            finally:
                wait([errand])  # before this thread touches the connector again
            try:
                following = errand.result()
            except Exception:  # the move or the next fetch failed: this batch is stored
                connector.mark_processed(stored)
                raise
            if following is None:
                break
            batch = following
    connector.mark_processed(stored)


def _move_and_fetch(connector: Any, ids: list[str], watermark: Watermark | None) -> Any:
    connector.mark_processed(ids)
    return None if watermark is None else connector.fetch(watermark)


def _save_watermark(factory: sessionmaker[Session], source_id: int, watermark: Watermark) -> None:
    with session_scope(factory) as session:
        session.execute(
            update(MailSource)
            .where(MailSource.id == source_id)
            .values(watermark=watermark)
            .execution_options(synchronize_session=False)
        )


def _default_factory(runtime: Runtime) -> Callable[[MailSource], Any]:
    return lambda source: mail_sources.connector_for(
        source, runtime.secret_box, factory=runtime.session_factory
    )


def _store_batch(runtime: Runtime, source_id: int, batch: Any, result: PollResult) -> list[str]:
    """Store every message of a batch in one transaction; returns the ids safe to move."""
    accepted = mail_batch.accept_batch(
        runtime.session_factory,
        [
            # A server date without a zone cannot be placed; arrival time stands in.
            mail_batch.Received(item.raw, _aware_or_none(item.received_at), item.conversation_id)
            for item in batch.messages
        ],
        now=runtime.clock(),
        max_bytes=runtime.settings.mail_max_bytes,
        source_id=source_id,
    )
    result.fetched += len(accepted)
    result.stored += sum(1 for one in accepted if one.created)
    result.duplicates += sum(1 for one in accepted if not one.created)
    return [item.source_id for item in batch.messages]


def _aware_or_none(moment: datetime | None) -> datetime | None:
    return moment if moment is not None and moment.tzinfo is not None else None


def _finish(
    factory: sessionmaker[Session], source_id: int, result: PollResult, now: datetime
) -> None:
    with session_scope(factory) as session:
        source = session.get(MailSource, source_id)
        if source is None:
            return
        source.lease_until = None
        source.fetched_count += result.fetched
        source.stored_count += result.stored
        source.duplicate_count += result.duplicates
        source.last_error = result.error
        if not result.error:
            source.last_success_at = now


def due_sources(session: Session, now: datetime) -> list[int]:
    """Enabled polled sources whose interval has passed since their last poll."""
    due = []
    for source in session.scalars(
        select(MailSource).where(
            MailSource.enabled.is_(True), MailSource.kind.in_(mail_sources.POLLED)
        )
    ):
        interval = float(
            (source.config or {}).get("poll_interval_seconds", DEFAULT_INTERVAL_SECONDS)
        )
        # A few seconds early is fine: the periodic tick is a minute and must not skip a turn.
        if (
            source.last_poll_at is None
            or source.last_poll_at + timedelta(seconds=max(interval - 5, 0)) <= now
        ):
            due.append(source.id)
    return due


def poll_due(runtime: Runtime) -> list[PollResult]:
    """The periodic job: poll every due source, one after another."""
    with runtime.session_factory() as session:
        ids = due_sources(session, runtime.clock())
    return [poll(runtime, source_id) for source_id in ids]
