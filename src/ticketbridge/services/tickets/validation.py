"""Deleted tickets in Autotask (design §6B, §9.3): checking that linked tickets still exist.

Links are checked when runs are shown (only links whose last read is older than a few minutes;
all due links of a page in one ``id in [...]`` query), on Open, on Resolve (in
:mod:`ticket_resolve`) and by the periodic job over every open link. The first "not found" marks
a link suspected; a second one at least a minute later confirms "Deleted in Autotask"; a read
in between clears the suspicion (:mod:`ticketbridge.core.ticket_links`). Nothing is sent while
the integration is disabled.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, select

from ticketbridge.connectors.errors import ConnectorError
from ticketbridge.connectors.psa.base import RemoteTicket
from ticketbridge.core import ticket_links as rules
from ticketbridge.core.psa_governor import Priority
from ticketbridge.core.ticket_links import Action, LinkOrigin, LinkState
from ticketbridge.services.connections import named
from ticketbridge.services.runs import records as runs
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.tickets import store
from ticketbridge.services.tickets.psa import (
    connect,
    current_settings,
    error_details,
    mode_of,
    translate,
)
from ticketbridge.services.tickets.resolve import miss_message
from ticketbridge.services.tickets.store import TicketActionRefused, TicketError
from ticketbridge.storage.models import TicketLinkRow

log = logging.getLogger(__name__)
VALIDATED_STATES = (
    LinkState.ACTIVE.value,
    LinkState.RESOLVED.value,
    LinkState.LEFT_OPEN_TIME_ENTRIES.value,
)
# The periodic job reads open links in pages this large (one request per page).
JOB_PAGE = 500


@dataclass(frozen=True)
class ValidationSummary:
    checked: int = 0
    suspected: list[int] = field(default_factory=list)  # link ids
    deleted: list[int] = field(default_factory=list)
    cleared: list[int] = field(default_factory=list)
    # The last candidate link looked at (due or not), for paging; None when there was none.
    last_id: int | None = None


def _candidates(run_ids: Sequence[int] | None, after_id: int = 0) -> Select[Any]:
    query = select(TicketLinkRow).where(
        TicketLinkRow.current_run_id.is_not(None),
        TicketLinkRow.state.in_(VALIDATED_STATES),
        TicketLinkRow.ticket_id.is_not(None),
        TicketLinkRow.origin != LinkOrigin.MANUAL.value,
        TicketLinkRow.id > after_id,
    )
    if run_ids is not None:
        query = query.where(TicketLinkRow.current_run_id.in_(list(run_ids)))
    return query.order_by(TicketLinkRow.id)


def validate(
    runtime: Runtime,
    *,
    run_ids: Sequence[int] | None = None,
    force: bool = False,
    quick: bool = False,
    actor: str = "system",
    limit: int | None = None,
    after_id: int = 0,
) -> ValidationSummary:
    """Read the due links' tickets (all of ``run_ids``' when ``force``) in one query per 500
    and apply what was found, per connection: one PSA that cannot answer leaves its links as
    they were. Raises a TicketError when none of the due links' PSAs could be asked."""
    with runtime.session_factory() as session:
        enabled = {row.id for row in named.all_connections(session) if row.enabled}
        if not enabled:
            return ValidationSummary()
        now = runtime.clock()
        query = _candidates(run_ids, after_id)
        if limit is not None:
            query = query.limit(limit)
        rows: list[TicketLinkRow] = list(session.scalars(query))
        last_id = rows[-1].id if rows else None
        due = [
            r
            for r in rows
            if r.connection_id in enabled and (force or rules.validation_due(store.to_link(r), now))
        ]
        if not due:
            return ValidationSummary(last_id=last_id)
        found: dict[tuple[int, int], RemoteTicket] = {}
        failed: dict[int, TicketError] = {}
        for connection_id in sorted({r.connection_id for r in due}):
            ids = sorted({int(r.ticket_id or 0) for r in due if r.connection_id == connection_id})
            try:
                with connect(
                    runtime, session, connection_id, quick=quick, priority=Priority.BACKGROUND
                ) as psa:
                    try:
                        tickets = psa.connector.get_tickets(ids)
                    except ConnectorError as exc:
                        raise translate(exc, psa.name) from None
            except TicketError as exc:
                # One PSA that cannot answer leaves its links as last known; the others'
                # tickets are still checked.
                failed[connection_id] = exc
                continue
            found |= {(connection_id, ticket_id): t for ticket_id, t in tickets.items()}
        due = [r for r in due if r.connection_id not in failed]
        if failed and not due:
            raise next(iter(failed.values()))
        for connection_id, problem in failed.items():
            log.info("tickets of connection %s not checked: %s", connection_id, problem.message)
        summary = ValidationSummary(checked=len(due), last_id=last_id)
        for row in due:
            before = store.to_link(row)
            remote = found.get((row.connection_id, int(row.ticket_id or 0)))
            if remote is not None:
                after = rules.record_found(before, remote.status_id or 0, now)
                row.last_status_label = remote.status_label or None
                if before.missing_since is not None:
                    summary.cleared.append(row.id)
            else:
                after = rules.record_miss(before, now)
                if after.state is LinkState.DELETED_EXTERNAL:
                    summary.deleted.append(row.id)
                elif before.missing_since is None:
                    summary.suspected.append(row.id)
            store.apply(row, after)
        for outcome, ids in (
            ("suspected", summary.suspected),
            ("deleted", summary.deleted),
            ("found_again", summary.cleared),
        ):
            for row in (r for r in due if r.id in ids):
                store.audit_action(
                    session, actor=actor, action="validate", run_id=row.run_id, outcome=outcome,
                    details=store.describe(row),
                )  # fmt: skip
        session.commit()
        return summary


def for_page(runtime: Runtime, run_ids: Sequence[int]) -> None:
    """Check the tickets of runs about to be shown; a failure only leaves them as last known."""
    if not run_ids:
        return
    try:
        validate(runtime, run_ids=run_ids, quick=True)
    except TicketError as exc:
        log.info("ticket validation skipped while showing runs: %s", exc.message)


def validate_open_links(runtime: Runtime) -> ValidationSummary:
    """The periodic job (§6B.3): every due open link, one request per page of 500."""
    checked = 0
    suspected: list[int] = []
    deleted: list[int] = []
    cleared: list[int] = []
    after_id = 0
    while True:
        page = validate(runtime, after_id=after_id, limit=JOB_PAGE)
        checked += page.checked
        suspected += page.suspected
        deleted += page.deleted
        cleared += page.cleared
        if page.last_id is None:
            return ValidationSummary(checked, suspected, deleted, cleared)
        after_id = page.last_id


def open_ticket(runtime: Runtime, run_id: int, *, actor: str) -> str:
    """Open ticket: check the ticket still exists, then its Autotask address."""
    with runtime.session_factory() as session:
        runs.get_run(session, run_id)
        row = store.current(session, run_id)
        settings = current_settings(session, row.connection_id if row is not None else None)
        link = store.to_link(row) if row is not None else None
        why = rules.refusal(Action.OPEN, link, mode_of(settings), settings.allow_resolve)
        if why is None and (row is None or not row.ticket_url):
            why = "This ticket has no Autotask address."
        if why is not None:
            raise TicketActionRefused(why)
    try:
        validate(runtime, run_ids=[run_id], force=True, actor=actor)
    except TicketError as exc:
        with runtime.session_factory() as session:
            store.audit_action(
                session, actor=actor, action="open", run_id=run_id, outcome="failed",
                details=exc.details or {"error": exc.message},
            )  # fmt: skip
            session.commit()
        raise
    with runtime.session_factory() as session:
        row = store.current(session, run_id)
        assert row is not None
        missing = row.missing_since is not None or row.state == LinkState.DELETED_EXTERNAL.value
        store.audit_action(
            session, actor=actor, action="open", run_id=run_id,
            outcome="blocked" if missing else "ok", details=store.describe(row),
        )  # fmt: skip
        session.commit()
        if missing:
            raise TicketActionRefused(miss_message(row, named.get(session, row.connection_id).name))
        assert row.ticket_url is not None
        return row.ticket_url


__all__ = ["ValidationSummary", "error_details", "for_page", "open_ticket", "validate"]
