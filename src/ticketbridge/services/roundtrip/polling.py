"""Polling is the truth; callouts and webhooks are hints.

**The poll** (job ``roundtrip.poll``, every 5 minutes) asks Autotask for every ticket whose
``lastActivityDate`` is after the watermark, the start of the last successful poll minus an
overlap of two minutes (clock skew, and changes committed while the previous poll ran), in
pages of 500: one request per 500 changed tickets, however many tickets we link. The first
poll looks back one day. Changes of linked tickets are applied like any observation (newer
last activity only, so the overlap applies nothing twice); each ticket in a short transaction
of its own.

**Hint coverage.** Each linked change newer than the previous poll's start (so counted once)
and made by someone other than our own API user is checked against what hints announced: a
callout or webhook with that last activity or a newer one. What no hint announced is counted
and listed: a callout that stopped firing shows as unannounced changes on the next poll.

**The targeted fetch** (job ``roundtrip.fetch_hinted``, every minute, and at once in tests)
reads every ticket a hint asked about, one request per 500, and applies what it finds. A
ticket not found follows the deletion rule: suspected on the first miss, deleted on a second
one at least a minute later (the fetch is scheduled again for that). A failed fetch is tried
again after 1, 2, 4 ... 30 minutes. The receiver itself never waits on Autotask: it applies
the hint at once and leaves the confirming read to this job.

No database connection is held while Autotask answers (``ticket_psa.connect`` ends the
transaction first); requests queue at the governor as ``Priority.ROUNDTRIP``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ticketbridge.connectors import registry
from ticketbridge.connectors.errors import ConnectorError
from ticketbridge.connectors.psa.capabilities import RequestCount, TicketActivity
from ticketbridge.core import ticket_links as link_rules
from ticketbridge.core.psa_governor import Priority
from ticketbridge.core.ticket_links import LinkOrigin, LinkState
from ticketbridge.core.ticket_observations import Observation, Source
from ticketbridge.services.roundtrip import apply, config, hook_log, webhooks
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.tickets import store
from ticketbridge.services.tickets.psa import connect, current_settings, roundtrip_connection
from ticketbridge.services.tickets.store import TicketError
from ticketbridge.storage.models import RoundtripPoll, TicketHint, TicketLinkRow

log = logging.getLogger(__name__)
OVERLAP = timedelta(minutes=2)
FIRST_LOOKBACK = timedelta(days=1)
FETCH_BATCH = 500
# Callouts carry seven digits of a second, the REST API fewer: equal within this.
ANNOUNCE_TOLERANCE = timedelta(seconds=1)
FOLLOWED_STATES = (
    LinkState.ACTIVE.value,
    LinkState.RESOLVED.value,
    LinkState.LEFT_OPEN_TIME_ENTRIES.value,
)
MAX_LISTED = 50


@dataclass
class PollResult:
    ok: bool = False
    requests: int = 0
    changed: int = 0
    linked: int = 0
    counted: int = 0
    announced: int = 0
    unannounced: int = 0
    applied: int = 0
    unannounced_ids: list[int] = field(default_factory=list)
    error: str | None = None


@dataclass
class FetchResult:
    fetched: int = 0
    found: int = 0
    missing: int = 0
    applied: int = 0
    requests: int = 0
    error: str | None = None


def linked_ticket_ids(session: Session) -> set[int]:
    """Tickets of current, validated links that follow their ticket."""
    return {
        int(ticket_id)
        for ticket_id in session.scalars(
            select(TicketLinkRow.ticket_id)
            .where(
                TicketLinkRow.current_run_id.is_not(None),
                TicketLinkRow.ticket_id.is_not(None),
                TicketLinkRow.origin != LinkOrigin.MANUAL.value,
                TicketLinkRow.state.in_(FOLLOWED_STATES),
            )
            .distinct()
        )
        if ticket_id is not None
    }


def _observation(activity: TicketActivity, source: Source, names: dict[int, str]) -> Observation:
    by = activity.completed_by_resource_id
    return Observation(
        ticket_id=activity.id,
        source=source,
        last_activity=activity.last_activity,
        status_id=activity.status_id,
        status_label=activity.status_label or None,
        completed_at=activity.completed_at,
        completed_by=(names.get(by) or f"resource {by}") if by is not None else None,
    )


def _completers(found: Iterable[TicketActivity]) -> list[int]:
    return sorted(
        {a.completed_by_resource_id for a in found if a.completed_by_resource_id is not None}
    )


def poll(runtime: Runtime) -> PollResult | None:
    """One poll; None while the integration is disabled (nothing sent)."""
    started = runtime.clock()
    with runtime.session_factory() as session:
        if not current_settings(session, roundtrip_connection(session)).enabled:
            return None
        state = config.state(session)
        previous, own = state.watermark, state.own_resource_id
        since = (previous or started - FIRST_LOOKBACK) - OVERLAP
        state.last_poll_at = started
        row = RoundtripPoll(started_at=started, since=since, ok=False)
        session.add(row)
        session.flush()
        poll_id = row.id
        linked = linked_ticket_ids(session)
        counter = RequestCount()
        result = PollResult()
        try:
            with connect(
                runtime, session, roundtrip_connection(session), priority=Priority.ROUNDTRIP
            ) as autotask:
                remote = registry.roundtrip(autotask.connector.kind)
                changed = remote.changed_since(autotask.connector, since, counter)
                mine = [a for a in changed if a.id in linked]
                names = remote.resource_names(autotask.connector, _completers(mine), counter)
        except (ConnectorError, TicketError) as exc:
            session.rollback()
            result.requests, result.error = counter.requests, exc.message
            _finish_poll(runtime, poll_id, result, started=None)
            return result
        announced = _announced(session, [a.id for a in mine])
        lists = apply.status_lists(session)
        session.rollback()
    result.requests, result.changed, result.linked = counter.requests, len(changed), len(mine)
    for activity in mine:
        with runtime.session_factory() as session:
            applied = apply.apply(
                session, _observation(activity, Source.POLL, names), now=runtime.clock(),
                lists=lists,
            )  # fmt: skip
            session.commit()
        result.applied += applied.outcome == "applied"
        _count(result, activity, previous, own, announced.get(activity.id))
    _finish_poll(runtime, poll_id, result, started=started)
    return result


def _announced(session: Session, ids: list[int]) -> dict[int, datetime]:
    """What hints announced per ticket: the newest last activity, else when the last came."""
    found: dict[int, datetime] = {}
    for start in range(0, len(ids), 500):
        batch = ids[start : start + 500]
        for hint in session.scalars(select(TicketHint).where(TicketHint.ticket_id.in_(batch))):
            found[int(hint.ticket_id)] = hint.announced_activity or hint.last_hint_at
    return found


def _count(
    result: PollResult,
    activity: TicketActivity,
    previous: datetime | None,
    own: int | None,
    told: datetime | None,
) -> None:
    seen = activity.last_activity
    if previous is None or seen is None or seen <= previous:
        return  # the first poll, or counted by the poll before
    if own is not None and activity.last_activity_resource_id == own:
        return  # our own change: no hint expected
    result.counted += 1
    if told is not None and told >= seen - ANNOUNCE_TOLERANCE:
        result.announced += 1
        return
    result.unannounced += 1
    if len(result.unannounced_ids) < MAX_LISTED:
        result.unannounced_ids.append(activity.id)


def _finish_poll(
    runtime: Runtime, poll_id: int, result: PollResult, *, started: datetime | None
) -> None:
    """Write the poll's counts; ``started`` (a success) moves the watermark to it."""
    now = runtime.clock()
    with runtime.session_factory() as session:
        row = session.get(RoundtripPoll, poll_id)
        state = config.state(session)
        if row is not None:
            row.finished_at = now
            row.ok = started is not None
            row.error = result.error[:500] if result.error else None
            for name in ("requests", "changed", "linked", "counted", "announced", "unannounced"):
                setattr(row, name, getattr(result, name))
            row.applied = result.applied
            row.unannounced_ids = result.unannounced_ids or None
        if started is not None:
            result.ok = True
            state.watermark, state.last_success_at = started, now
            state.last_error = state.last_error_at = None
        else:
            state.last_error, state.last_error_at = (result.error or "")[:500], now
        session.commit()


def cycle(runtime: Runtime) -> PollResult | None:
    """The periodic job: the poll, each webhook's state in Autotask (one request each), and
    hook requests older than the retention purged."""
    result = poll(runtime)
    if result is not None:
        try:
            webhooks.refresh(runtime)
        except (ConnectorError, TicketError) as exc:
            log.info("webhook states not read: %s", exc)
    with runtime.session_factory() as session:
        hook_log.purge(session, now=runtime.clock())
        session.commit()
    return result


# --- the targeted fetch -------------------------------------------------------------------


def fetch_hinted(runtime: Runtime) -> FetchResult | None:
    """Read the tickets hints asked about; None while the integration is disabled."""
    started = runtime.clock()
    with runtime.session_factory() as session:
        if not current_settings(session, roundtrip_connection(session)).enabled:
            return None
        ids = [
            int(i)
            for i in session.scalars(
                select(TicketHint.ticket_id)
                .where(TicketHint.fetch_due_at <= started)
                .order_by(TicketHint.fetch_due_at)
                .limit(FETCH_BATCH)
            )
        ]
        result = FetchResult(fetched=len(ids))
        if not ids:
            return result
        counter = RequestCount()
        try:
            with connect(
                runtime, session, roundtrip_connection(session), priority=Priority.ROUNDTRIP
            ) as autotask:
                remote = registry.roundtrip(autotask.connector.kind)
                found = remote.get_activity(autotask.connector, ids, counter)
                names = remote.resource_names(
                    autotask.connector, _completers(found.values()), counter
                )
        except (ConnectorError, TicketError) as exc:
            session.rollback()
            result.requests, result.error = counter.requests, exc.message
            _fetch_failed(runtime, ids, exc.message)
            return result
        lists = apply.status_lists(session)
        session.rollback()
    result.requests = counter.requests
    for ticket_id in ids:
        with runtime.session_factory() as session:
            now = runtime.clock()
            activity = found.get(ticket_id)
            if activity is not None:
                result.found += 1
                applied = apply.apply(
                    session, _observation(activity, Source.FETCH, names), now=now, lists=lists
                )
                result.applied += applied.outcome == "applied"
                confirm_at = None
            else:
                result.missing += 1
                confirm_at = _missed(session, ticket_id, now)
            hint = session.get(TicketHint, ticket_id)
            if hint is not None:
                if hint.fetch_due_at is not None and hint.fetch_due_at <= started:
                    hint.fetch_due_at = confirm_at  # a hint that came meanwhile keeps its own
                hint.fetched_at, hint.fetch_attempts, hint.last_error = now, 0, None
            session.commit()
    return result


def _missed(session: Session, ticket_id: int, now: datetime) -> datetime | None:
    """Apply a "not found" to the ticket's links; when to read again to confirm it (None when
    nothing waits for a confirmation)."""
    apply.lock_ticket(session, ticket_id)
    confirm_at: datetime | None = None
    for row in apply.linked_rows(session, ticket_id):
        before = store.to_link(row)
        after = link_rules.record_miss(before, now)
        if after != before:
            store.apply(row, after)
            deleted = after.state is LinkState.DELETED_EXTERNAL
            store.audit_action(
                session, actor=apply.ACTOR, action="validate", run_id=row.run_id,
                outcome="deleted" if deleted else "suspected",
                details=store.describe(row) | {"source": Source.FETCH.value},
            )  # fmt: skip
        if after.suspected_missing and after.missing_since is not None:
            at = after.missing_since + link_rules.CONFIRM_MISS_AFTER
            confirm_at = at if confirm_at is None else max(confirm_at, at)
    return confirm_at


def _fetch_failed(runtime: Runtime, ids: list[int], message: str) -> None:
    now = runtime.clock()
    with runtime.session_factory() as session:
        for hint in session.scalars(select(TicketHint).where(TicketHint.ticket_id.in_(ids))):
            hint.fetch_attempts = (hint.fetch_attempts or 0) + 1
            hint.last_error = message[:500]
            hint.fetch_due_at = now + apply.fetch_backoff(hint.fetch_attempts)
        session.commit()
