"""Receive many callouts in one transaction (group commit).

Autotask sends a callout per ticket change and resends it up to 10 times; a commit per request
was most of what a callout cost. Here a batch of requests is read, applied and stored in one
transaction, and each is answered only after that commit (:mod:`callout_writer` gathers the
batches). What a batch does, in order:

1. Each request is checked as one alone would be (:mod:`callouts`): its endpoint (404, not
   stored), its credentials (401), its body (400), the UDF filter.
2. The readable ones are applied ticket by ticket, in ascending ticket order (PostgreSQL
   writers of other processes lock tickets in the same order, so they cannot deadlock), in
   the order they arrived. The copies of one change within a batch are applied once; each
   other copy gets the answer the rule gives a copy (``duplicate`` after ``applied``, else the
   same outcome). The linked runs and hints of the whole batch are read in two queries.
3. When any request was readable, the syncs reading the connection are asked for an early
   run (services/sync/hooks.py), once per batch.
4. Every request row is added with its outcome, and the transaction commits.

Applying runs inside a savepoint; should it fail, the batch is applied again ticket by ticket,
each in a savepoint of its own, so one bad ticket leaves only its own requests ``failed``
(kept, replayable). When the commit fails the requests are stored again on their own, as
``failed``; only when that fails too is the answer a 503, so that Autotask sends them again.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ticketbridge.core.callouts import TicketSignal
from ticketbridge.core.ticket_observations import Observation, Source
from ticketbridge.services.roundtrip import apply, callouts, config, hook_log
from ticketbridge.services.roundtrip.receipt import (
    FAILED,
    NOT_FOUND,
    STORE_FAILED,
    Answer,
    Incoming,
    writer_lock,
)
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.sync import hooks as sync_hooks
from ticketbridge.services.tickets.psa import roundtrip_connection
from ticketbridge.storage.models import CalloutEndpoint, HookRequest, TicketHint, TicketLinkRow
from ticketbridge.storage.secrets import SecretBox

log = logging.getLogger(__name__)


@dataclass
class Received:
    """One request of a batch and what became of it."""

    name: str
    incoming: Incoming
    answer: Answer | None = None
    signal: TicketSignal | None = None
    endpoint: CalloutEndpoint | None = None
    parsed: dict[str, Any] | None = None
    ticket_id: int | None = None
    error: str | None = None
    outcome: str = "received"


def receive(runtime: Runtime, name: str, incoming: Incoming) -> Answer:
    """One callout: a batch of one."""
    return receive_many(runtime, [(name, incoming)])[0]


def receive_many(runtime: Runtime, calls: Sequence[tuple[str, Incoming]]) -> list[Answer]:
    """Answers in the order of ``calls`` (endpoint name, request)."""
    batch = [Received(name, incoming) for name, incoming in calls]
    now = runtime.clock()
    try:
        with writer_lock(runtime), runtime.session_factory() as session:
            _check(session, runtime, batch)
            _apply_all(session, [r for r in batch if r.answer is None], now)
            if any(r.signal is not None for r in batch):
                # Once per batch: the syncs reading the connection run early (coalesced).
                sync_hooks.request_runs(session, roundtrip_connection(session), now)
            rows = _rows(batch, now)
            session.add_all(rows)
            session.commit()
    except SQLAlchemyError:
        log.exception("callouts: a batch of %d and its changes could not be committed", len(batch))
        return _store_alone(runtime, batch, now)
    _count(r.outcome for r in batch if _kept(r))
    return [_final(r, row) for r, row in zip(batch, _spread(batch, rows), strict=True)]


def _count(outcomes: Iterable[str]) -> None:
    """The metric, once the batch's rows are committed: one increment per outcome."""
    for outcome, times in Counter(outcomes).items():
        hook_log.counted(callouts.CHANNEL, outcome, times)


def _check(session: Session, runtime: Runtime, batch: list[Received]) -> None:
    box = _OncePerBatch(runtime.secret_key)
    endpoints: dict[str, CalloutEndpoint | None] = {}
    for received in batch:
        if received.name not in endpoints:
            found = config.callout_by_name(session, received.name)
            endpoints[received.name] = found if found is not None and found.active else None
        endpoint = received.endpoint = endpoints[received.name]
        if endpoint is None:
            received.answer = NOT_FOUND
            continue
        checked = callouts.check(box, endpoint, received.incoming)
        if isinstance(checked, callouts.Refused):
            received.answer, received.outcome = checked.answer, checked.answer.outcome
            received.error = checked.error
            received.parsed = checked.parsed or None
            received.ticket_id = checked.ticket_id
        else:
            received.signal, received.parsed = checked
            received.ticket_id = checked[0].ticket_id


class _OncePerBatch(SecretBox):
    """Each endpoint's password decrypted once per batch, not once per request; the plain
    text lives as long as the batch."""

    def __init__(self, secret_key: str) -> None:
        super().__init__(secret_key)
        self._plain: dict[str, str] = {}

    def decrypt(self, token: str) -> str:
        if token not in self._plain:
            self._plain[token] = super().decrypt(token)
        return self._plain[token]


def _apply_all(session: Session, pending: list[Received], now: datetime) -> None:
    if not pending:
        return
    # Locked before the savepoint: on SQLite the lock opens the transaction (BEGIN IMMEDIATE);
    # a savepoint opened outside one would commit on its release, before the rows are stored.
    apply.lock_tickets(session, [r.signal.ticket_id for r in pending if r.signal is not None])
    try:
        with session.begin_nested():
            _apply_tickets(session, pending, now, isolated=False)
    except Exception:  # a bug or a failed write: find the ticket it was, keep the others
        log.exception("callouts: a batch could not be applied at once; ticket by ticket")
        for received in pending:
            received.answer, received.outcome = None, "received"
        _apply_tickets(session, pending, now, isolated=True)


def _apply_tickets(
    session: Session, pending: list[Received], now: datetime, *, isolated: bool
) -> None:
    by_ticket: dict[int, list[Received]] = {}
    for received in pending:
        assert received.signal is not None
        by_ticket.setdefault(received.signal.ticket_id, []).append(received)
    ids = sorted(by_ticket)
    # Held for the whole batch: the session keeps only weak references, and a row read and
    # dropped would be read again by every session.get (the hints, the settings row).
    links, hints = _linked(session, ids)
    settings = config.state(session)
    lists = apply.status_lists(session)
    for ticket_id in ids:
        rows = links.get(ticket_id, [])
        if not isolated:
            _apply_ticket(session, by_ticket[ticket_id], rows, hints, now, lists)
            continue
        try:
            with session.begin_nested():
                _apply_ticket(session, by_ticket[ticket_id], rows, hints, now, lists)
        except Exception as exc:
            log.exception("callouts: ticket %s could not be applied", ticket_id)
            for received in by_ticket[ticket_id]:
                received.outcome, received.error = "failed", f"{type(exc).__name__}: {exc}"
                received.answer = Answer(200, FAILED, "failed")
    del hints, settings


def _linked(
    session: Session, ids: list[int]
) -> tuple[dict[int, list[TicketLinkRow]], dict[int, TicketHint]]:
    """The current links of the batch's tickets (locked), and the hints of the linked ones by
    ticket (a linked ticket missing there has none yet)."""
    found: dict[int, list[TicketLinkRow]] = {}
    for row in session.scalars(
        select(TicketLinkRow)
        .where(TicketLinkRow.ticket_id.in_(ids), TicketLinkRow.current_run_id.is_not(None))
        .order_by(TicketLinkRow.id)
    ):
        found.setdefault(int(row.ticket_id or 0), []).append(row)
    hints: dict[int, TicketHint] = {}
    if found:
        for hint in session.scalars(select(TicketHint).where(TicketHint.ticket_id.in_(found))):
            hints[int(hint.ticket_id)] = hint
    return found, hints


def _apply_ticket(
    session: Session,
    received: list[Received],
    rows: list[TicketLinkRow],
    hints: dict[int, TicketHint],
    now: datetime,
    lists: apply.StatusLists,
) -> None:
    first_of: dict[tuple[Any, ...], Received] = {}
    for item in received:
        signal = item.signal
        assert signal is not None
        key = (signal.last_activity, signal.status, item.endpoint.id if item.endpoint else None)
        first = first_of.get(key)
        if first is None:
            first_of[key] = item
            observation = Observation(
                ticket_id=signal.ticket_id,
                source=Source.CALLOUT,
                last_activity=signal.last_activity,
                status_label=signal.status,
            )
            result = apply.apply(
                session, observation, now=now, lists=lists, announced=signal.last_activity,
                rows=rows, hints=hints,
            )  # fmt: skip
            item.outcome = result.outcome
        else:  # a copy of a change already applied in this batch
            item.outcome = "duplicate" if first.outcome == "applied" else first.outcome
        item.answer = Answer(200, item.outcome, item.outcome)


def _row(received: Received, now: datetime, outcome: str, error: str | None) -> HookRequest:
    incoming = received.incoming
    row = hook_log.new_row(
        channel=callouts.CHANNEL, endpoint=received.name, method=incoming.method,
        query=incoming.query, headers=incoming.headers, body=incoming.body, now=now,
    )  # fmt: skip
    hook_log.finish(row, outcome, error=error, ticket_id=received.ticket_id, parsed=received.parsed)
    return row


def _kept(received: Received) -> bool:
    """Every request is stored but one for an endpoint that is not configured."""
    return received.answer is not NOT_FOUND


def _rows(batch: list[Received], now: datetime) -> list[HookRequest]:
    return [_row(r, now, r.outcome, r.error) for r in batch if _kept(r)]


def _spread(batch: list[Received], rows: list[HookRequest]) -> list[HookRequest | None]:
    it = iter(rows)
    return [next(it) if _kept(r) else None for r in batch]


def _final(received: Received, row: HookRequest | None) -> Answer:
    answer = received.answer or Answer(200, FAILED, "failed")
    return replace(answer, request_id=row.id) if row is not None else answer


def _store_alone(runtime: Runtime, batch: list[Received], now: datetime) -> list[Answer]:
    why = "the database refused the changes it asked for"
    try:
        with runtime.session_factory() as session:
            rows = [_row(r, now, "failed", why) for r in batch if _kept(r)]
            session.add_all(rows)
            session.commit()
    except SQLAlchemyError:
        log.exception("callouts: a batch of %d could not be stored", len(batch))
        _count(hook_log.NOT_STORED for r in batch if _kept(r))
        return [STORE_FAILED if _kept(r) else NOT_FOUND for r in batch]
    _count("failed" for _ in rows)
    failed = Answer(200, FAILED, "failed")
    return [
        NOT_FOUND if row is None else replace(failed, request_id=row.id)
        for row in _spread(batch, rows)
    ]
