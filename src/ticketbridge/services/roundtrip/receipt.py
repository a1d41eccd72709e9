"""Receiving a hook request: store it, then handle it, and answer so that Autotask retries only
what retrying can fix.

The request row is written first, in the same transaction as what handling it changes; the
handling runs inside a savepoint, so a bug or a failed write rolls back only the handling and
the request is still committed (outcome ``failed``, replayable from the UI). When even that
commit fails, the request is stored again on its own. Only when it cannot be stored at all is
the answer a 503, and Autotask sends it again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ticketbridge.services.roundtrip import hook_log
from ticketbridge.services.runtime import Runtime
from ticketbridge.storage.models import HookRequest

log = logging.getLogger(__name__)
_SQLITE_WRITER = threading.Lock()
T = TypeVar("T")
FAILED = "stored, but it could not be applied; it can be replayed from Settings"


@dataclass(frozen=True)
class Incoming:
    method: str
    query: str
    headers: dict[str, str]  # lower-case names
    body: bytes

    @classmethod
    def of(cls, method: str, query: str, headers: Mapping[str, str] | Any, body: bytes) -> Incoming:
        return cls(
            method.upper(), query, {str(k).lower(): str(v) for k, v in headers.items()}, body
        )

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass(frozen=True)
class Answer:
    status: int
    message: str
    outcome: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    request_id: int | None = None


NOT_FOUND = Answer(404, "no such endpoint")
STORE_FAILED = Answer(
    503, "the request could not be stored; send it again", "", {"Retry-After": "60"}
)
Process = Callable[[Session, HookRequest, T, datetime], Answer]


def handle(
    runtime: Runtime,
    *,
    channel: str,
    endpoint: str,
    incoming: Incoming,
    find: Callable[[Session], T | None],
    process: Process[T],
) -> Answer:
    """``find`` loads what the URL names (None: 404, nothing stored); ``process`` handles the
    stored request inside a savepoint and says what to answer."""
    now = runtime.clock()
    try:
        with writer_lock(runtime), runtime.session_factory() as session:
            target = find(session)
            if target is None:
                return NOT_FOUND
            row = _store(session, channel, endpoint, incoming, now)
            try:
                with session.begin_nested():
                    answer = process(session, row, target, now)
            except Exception as exc:  # a bug or a failed write: keep the request, say so
                log.exception("%s %s: request %s could not be handled", channel, endpoint, row.id)
                hook_log.finish(row, "failed", error=f"{type(exc).__name__}: {exc}"[:500])
                answer = Answer(200, FAILED, "failed")
            outcome = row.outcome
            session.commit()
            hook_log.counted(channel, outcome)
            return replace(answer, request_id=row.id)
    except SQLAlchemyError:
        log.exception(
            "%s %s: the request and its changes could not be committed", channel, endpoint
        )
    return _store_alone(runtime, channel, endpoint, incoming, now)


def writer_lock(runtime: Runtime) -> AbstractContextManager[object]:
    """SQLite has one writer at a time, and a writer that finds the file locked sleeps in
    growing steps (SQLite's busy handler) before it tries again: under a burst of callouts the
    threads of one process spent most of their time asleep. They take turns on a lock of the
    process instead, which wakes the next one as soon as the last commits. PostgreSQL writers
    only wait for the ticket they share (apply.lock_ticket)."""
    if runtime.engine.dialect.name == "sqlite":
        return _SQLITE_WRITER
    return nullcontext()


def _store(
    session: Session, channel: str, endpoint: str, incoming: Incoming, now: datetime
) -> HookRequest:
    return hook_log.store(
        session,
        channel=channel,
        endpoint=endpoint,
        method=incoming.method,
        query=incoming.query,
        headers=incoming.headers,
        body=incoming.body,
        now=now,
    )


def _store_alone(
    runtime: Runtime, channel: str, endpoint: str, incoming: Incoming, now: datetime
) -> Answer:
    try:
        with runtime.session_factory() as session:
            row = _store(session, channel, endpoint, incoming, now)
            hook_log.finish(row, "failed", error="the database refused the changes it asked for")
            session.commit()
    except SQLAlchemyError:
        log.exception("%s %s: the request could not be stored", channel, endpoint)
        hook_log.counted(channel, hook_log.NOT_STORED)
        return STORE_FAILED
    hook_log.counted(channel, "failed")
    return Answer(200, FAILED, "failed", request_id=row.id)
