"""Apply one observation of a ticket to the runs that link it, in the caller's transaction.

Writers of one ticket take turns (``serialise_writers``, keyed by the ticket id): ten copies
of a callout arriving at once each read what the one before committed, so the rule of
:mod:`ticketbridge.core.ticket_observations` (newer last activity only) applies exactly once.
A hint also records itself for hint coverage and asks for the confirming read.

Audited on the run as ``ticket.roundtrip`` with the change as outcome (``resolved_in_psa``,
``reopened``, ``status``), actor ``autotask``. With "mark reviewed when completed in Autotask"
on, a run whose ticket was completed there is marked reviewed with a note (``runs.review``).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from ticketbridge.core import resolve_policy
from ticketbridge.core import ticket_observations as rules
from ticketbridge.core.resolve_policy import PicklistOption
from ticketbridge.core.ticket_observations import Change, Observation
from ticketbridge.services.connections import named
from ticketbridge.services.roundtrip import config
from ticketbridge.services.runs import records as runs
from ticketbridge.services.tickets import store
from ticketbridge.storage.db import serialise_writers
from ticketbridge.storage.models import ReferenceValue, TicketHint, TicketLinkRow

ACTOR = "autotask"
# Advisory lock keys of the round trip: this base plus the ticket id (PostgreSQL); SQLite has
# one writer at a time anyway.
LOCK_BASE = 0x5254 << 44
LOCK_SPAN = 1 << 44


@dataclass(frozen=True)
class StatusLists:
    """The Tickets status picklist as last loaded in Settings."""

    by_label: dict[str, int] = field(default_factory=dict)
    by_id: dict[int, str] = field(default_factory=dict)
    complete_id: int | None = None

    def id_of(self, label: str | None) -> int | None:
        return self.by_label.get(_words(label)) if label else None

    def label_of(self, status_id: int | None) -> str | None:
        return self.by_id.get(status_id) if status_id is not None else None


def _words(label: str | None) -> str:
    return " ".join((label or "").casefold().split())


# The status picklist changes when an admin reloads reference data; reading it for every
# callout cost a third of the receipt's time. Kept per database for this long.
LISTS_TTL_SECONDS = 30.0
_lists_cache: dict[str, tuple[float, StatusLists]] = {}


def status_lists(session: Session) -> StatusLists:
    key = str(session.get_bind().engine.url)
    cached = _lists_cache.get(key)
    if cached is not None and time.monotonic() - cached[0] < LISTS_TTL_SECONDS:
        return cached[1]
    connection = named.with_capability(session, "roundtrip")
    values = [
        (int(value_id), str(name), bool(active))
        for value_id, name, active in session.execute(
            select(ReferenceValue.value_id, ReferenceValue.name, ReferenceValue.active).where(
                ReferenceValue.connection_id == (connection.id if connection else None),
                ReferenceValue.category == "status",
            )
        )
    ]
    lists = StatusLists(
        by_label={_words(name): value_id for value_id, name, _ in values},
        by_id={value_id: name for value_id, name, _ in values},
        complete_id=resolve_policy.complete_status_value(
            PicklistOption(value_id, name, active) for value_id, name, active in values
        ),
    )
    _lists_cache[key] = (time.monotonic(), lists)
    return lists


def forget_status_lists() -> None:
    """After reference data was reloaded (and in tests)."""
    _lists_cache.clear()


@dataclass(frozen=True)
class Applied:
    outcome: str  # applied | duplicate | stale | held | recorded | ignored | unknown_ticket
    changes: tuple[Change, ...] = ()
    run_ids: tuple[int, ...] = ()


def lock_ticket(session: Session, ticket_id: int) -> None:
    serialise_writers(session, LOCK_BASE + int(ticket_id) % LOCK_SPAN)


def lock_tickets(session: Session, ticket_ids: Iterable[int]) -> None:
    """``lock_ticket`` for many, in ascending order (so that two batches cannot deadlock),
    in one statement on PostgreSQL: a round trip per ticket was a third of a batch's time."""
    keys = sorted({LOCK_BASE + int(ticket_id) % LOCK_SPAN for ticket_id in ticket_ids})
    if not keys:
        return
    if session.get_bind().dialect.name != "postgresql":
        serialise_writers(session, keys[0])  # SQLite: the one writer lock
        return
    # unnest yields the array's elements in order, and each lock is taken as its row is read.
    session.execute(
        text("SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(:keys AS bigint[])) AS k"),
        {"keys": keys},
    )


def linked_rows(session: Session, ticket_id: int) -> list[TicketLinkRow]:
    return list(
        session.scalars(
            select(TicketLinkRow)
            .where(
                TicketLinkRow.ticket_id == int(ticket_id),
                TicketLinkRow.current_run_id.is_not(None),
            )
            .order_by(TicketLinkRow.id)
        )
    )


def apply(
    session: Session,
    observation: Observation,
    *,
    now: datetime,
    lists: StatusLists,
    announced: datetime | None = None,
    fetch_now: bool = True,
    rows: list[TicketLinkRow] | None = None,
    hints: dict[int, TicketHint] | None = None,
) -> Applied:
    """Apply ``observation`` to every current link of its ticket. A hint (callout, webhook)
    also records what it announced (``announced``: its last activity or event time) and, with
    ``fetch_now``, asks for the confirming read. ``rows``: the ticket's current links, read by
    a caller that holds the ticket's lock; ``hints``: the hint rows of such a caller's tickets,
    complete for the tickets it has links of (a new one is added to it). Does not commit."""
    if rows is None:
        lock_ticket(session, observation.ticket_id)
        rows = linked_rows(session, observation.ticket_id)
    if not rows:
        return Applied("unknown_ticket")
    if observation.source.is_hint:
        record_hint(
            session, observation.ticket_id, now, announced, fetch_now=fetch_now, known=hints
        )
    if observation.status_id is None and observation.status_label:
        observation = _with_status_id(observation, lists)
    changes: list[Change] = []
    touched: list[int] = []
    for row in rows:
        decision = rules.decide(
            store.to_link(row),
            observation,
            complete_status_id=lists.complete_id,
            now=now,
            current_label=row.last_status_label,
        )
        changes.append(decision.change)
        if not decision.applied:
            continue
        before_label = row.last_status_label
        store.apply(row, decision.link)
        label = decision.status_label or lists.label_of(decision.link.last_status_id)
        if label:
            row.last_status_label = label
        touched.append(row.run_id)
        if decision.change in rules.AUDITED:
            _audit(session, row, observation, decision.change, before_label)
        if decision.change is Change.RESOLVED_IN_PSA and config.state(session).review_on_complete:
            _review(session, row)
    return Applied(_outcome(changes), tuple(changes), tuple(touched))


def _with_status_id(observation: Observation, lists: StatusLists) -> Observation:
    return replace(observation, status_id=lists.id_of(observation.status_label))


def _outcome(changes: list[Change]) -> str:
    if any(c in rules.APPLIED for c in changes):
        return "applied"
    counts = Counter(changes)
    for change, outcome in (
        (Change.HELD, "held"),
        (Change.STALE, "stale"),
        (Change.DUPLICATE, "duplicate"),
        (Change.UNORDERED, "recorded"),
    ):
        if counts[change]:
            return outcome
    return "ignored"


def record_hint(
    session: Session,
    ticket_id: int,
    now: datetime,
    announced: datetime | None,
    *,
    fetch_now: bool = True,
    known: dict[int, TicketHint] | None = None,
) -> TicketHint:
    """What a hint announced, and the read it asks for (the caller holds the ticket's lock).
    A copy of a hint already recorded (a retry) writes nothing: ``hints`` counts hints that
    announced something new. ``known``: the ticket's hint row when it has one, read under the
    lock by a caller of many tickets; without it the row is read here (a ticket that has none
    yet cost a query and a flush of the session each)."""
    key = int(ticket_id)
    hint = session.get(TicketHint, key) if known is None else known.get(key)
    if hint is None:
        hint = TicketHint(ticket_id=key, last_hint_at=now, hints=0, fetch_attempts=0)
        session.add(hint)
        if known is not None:
            known[key] = hint
    newer = announced is not None and (
        hint.announced_activity is None or announced > hint.announced_activity
    )
    unordered = announced is None
    fetch = fetch_now and (hint.fetch_due_at is None or hint.fetch_due_at > now)
    if not (newer or unordered or fetch):
        return hint
    hint.last_hint_at = now
    hint.hints = (hint.hints or 0) + 1
    if newer:
        hint.announced_activity = announced
    if fetch:
        hint.fetch_due_at = now
        hint.fetch_attempts = 0
    return hint


def schedule_fetch(session: Session, ticket_id: int, at: datetime) -> None:
    """Ask for a read of ``ticket_id`` at ``at`` (a miss waiting for its confirmation)."""
    hint = session.get(TicketHint, int(ticket_id))
    if hint is None:
        hint = TicketHint(ticket_id=int(ticket_id), last_hint_at=at, hints=0, fetch_attempts=0)
        session.add(hint)
    hint.fetch_due_at = at


def _audit(
    session: Session,
    row: TicketLinkRow,
    observation: Observation,
    change: Change,
    before_label: str | None,
) -> None:
    details = store.describe(row) | {
        "source": observation.source.value,
        "status_before": before_label,
        "status_after": row.last_status_label,
        "last_activity": observation.last_activity.isoformat()
        if observation.last_activity
        else None,
    }
    if change is Change.RESOLVED_IN_PSA:
        details |= {
            "completed_by": row.resolved_in_psa_by,
            "completed_at": row.resolved_in_psa_at.isoformat() if row.resolved_in_psa_at else None,
        }
    store.audit_action(
        session,
        actor=ACTOR,
        action="roundtrip",
        run_id=row.run_id,
        outcome=change.value,
        details=details,
    )


def _review(session: Session, row: TicketLinkRow) -> None:
    who = f" by {row.resolved_in_psa_by}" if row.resolved_in_psa_by else ""
    note = f"Ticket {row.ticket_number or row.ticket_id} was completed in Autotask{who}."
    runs.review(session, [row.run_id], actor=ACTOR, note=note)


def fetch_backoff(attempts: int) -> timedelta:
    """How long a failed read waits before the next try: 1, 2, 4 ... up to 30 minutes."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 30))
