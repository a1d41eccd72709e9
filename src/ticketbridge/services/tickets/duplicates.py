"""Duplicate tickets in Autotask (issue 9 item 2): the back-stop behind exactly-once creation.

Every ticket we create for a run carries the run's reference as externalID, so a search by
reference finds every ticket made for the run, including one created behind our back. Two or
more found for one run are recorded (:mod:`ticket_duplicate_store`), audited once with their
numbers (``ticket.duplicates_found``) and shown on the run and in Run Checks until the operator
chooses which ticket stays linked (:func:`keep`).

Found by:
- :func:`sweep`, the periodic job: every current link with a reference created within
  :data:`~ticketbridge.core.ticket_duplicates.SWEEP_WINDOW` (30 days), one
  ``externalID in [...]`` query per 500 links;
- :func:`check_run`, when a run page is shown: one quick query for the run's reference, at most
  every five minutes per link;
- :func:`record_found`, called by the create when its search for the reference found several.

:func:`keep` applies the choice: the run's current link points at the kept ticket (a new link
superseding the old one, as Re-link does, when it did not already), every other ticket gets the
fixed internal note naming the kept one, and ``ticket.duplicates_resolved`` names both. Nothing
is closed or deleted.

No database connection is held while Autotask answers: what is needed is read, the session
closed, Autotask asked, and the outcome recorded in a new short transaction. Nothing is sent
while the integration is disabled. Pure rules: :mod:`ticketbridge.core.ticket_duplicates`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NoReturn

from sqlalchemy import select

from ticketbridge.connectors.errors import ConnectorError, RemoteNotFound
from ticketbridge.connectors.psa.base import RemoteTicket
from ticketbridge.core import resolve_policy as policy
from ticketbridge.core import ticket_duplicates as rules
from ticketbridge.core import ticket_links as links
from ticketbridge.core.psa_governor import Priority
from ticketbridge.core.ticket_duplicates import FoundTicket, InvalidChoice
from ticketbridge.core.ticket_links import LinkState
from ticketbridge.services.connections import reference
from ticketbridge.services.connections.autotask import ActiveAutotask
from ticketbridge.services.runs import records as runs
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.tickets import store
from ticketbridge.services.tickets.duplicate_store import (
    RESOLVED,
    DuplicatesView,
    Target,
    found_tickets,
    open_for_run,
    open_runs,
    record,
    record_found,
    searchable,
    tickets_of,
    view,
)
from ticketbridge.services.tickets.psa import (
    connect,
    current_settings,
    error_details,
    ticket_url,
    translate,
)
from ticketbridge.services.tickets.store import (
    LinkResult,
    TicketActionRefused,
    TicketBeingCreated,
    TicketError,
    TicketInputInvalid,
)
from ticketbridge.storage.models import TicketDuplicateCheck, TicketDuplicateRow, TicketLinkRow

__all__ = [
    "DuplicatesView",
    "SweepSummary",
    "check_run",
    "keep",
    "open_runs",
    "record_found",
    "sweep",
    "tickets_of",
    "view",
]

log = logging.getLogger(__name__)
# Links read, and references searched, per page of the sweep (one Autotask query per page).
SWEEP_PAGE = 500


@dataclass
class SweepSummary:
    searched: int = 0
    found: list[int] = field(default_factory=list)  # run ids with new duplicates
    changed: list[int] = field(default_factory=list)  # run ids whose duplicates changed
    cleared: list[int] = field(default_factory=list)  # run ids whose duplicates went away


@contextmanager
def _autotask(
    runtime: Runtime, *, quick: bool = False, priority: Priority = Priority.OPERATOR
) -> Iterator[ActiveAutotask | None]:
    """A ready connector, or None while the integration is disabled. The session that read the
    settings is closed before the caller talks to Autotask. Searching is background work for
    the request governor; applying an operator's choice is not."""
    with runtime.session_factory() as session:
        if not current_settings(session).enabled:
            yield None
            return
        with connect(runtime, session, quick=quick, priority=priority) as autotask:
            session.close()
            yield autotask


def _search(autotask: ActiveAutotask, references: list[str]) -> dict[str, list[RemoteTicket]]:
    return autotask.connector.find_tickets_by_references(references)


# --- the periodic sweep and the run page ---------------------------------------------------------


def _targets(runtime: Runtime, since: datetime, after_id: int) -> list[Target]:
    with runtime.session_factory() as session:
        rows = session.execute(
            select(TicketLinkRow.run_id, TicketLinkRow.id, TicketLinkRow.reference)
            .where(
                TicketLinkRow.current_run_id.is_not(None),
                TicketLinkRow.reference.is_not(None),
                TicketLinkRow.ticket_id.is_not(None),
                TicketLinkRow.state != LinkState.CREATING.value,
                TicketLinkRow.created_at >= since,
                TicketLinkRow.id > after_id,
            )
            .order_by(TicketLinkRow.id)
            .limit(SWEEP_PAGE)
        )
        return [Target(int(run_id), int(link_id), str(ref)) for run_id, link_id, ref in rows]


def sweep(runtime: Runtime, *, actor: str = "system") -> SweepSummary:
    """The periodic job: search Autotask for the reference of every current link created within
    the sweep window, 500 a query, and record duplicates. Raises a TicketError when Autotask
    cannot be asked (pages recorded before stay recorded)."""
    summary = SweepSummary()
    since = runtime.clock() - rules.SWEEP_WINDOW
    with _autotask(runtime, priority=Priority.BACKGROUND) as autotask:
        if autotask is None:
            return summary
        after_id = 0
        while targets := _targets(runtime, since, after_id):
            try:
                found = _search(autotask, [t.reference for t in targets])
            except ConnectorError as exc:
                raise translate(exc) from None
            summary.searched += len(targets)
            for run_id, outcome in record(runtime, targets, found_tickets(found)).items():
                if outcome in ("found", "changed", "cleared"):
                    getattr(summary, outcome).append(run_id)
            after_id = targets[-1].link_id
    if summary.found or summary.changed or summary.cleared:
        log.info("duplicate sweep: %s", summary)
    return summary


def check_run(runtime: Runtime, run_id: int) -> None:
    """Before a run page is shown: one quick search for the run's reference, at most every
    five minutes per link. A failure leaves what was recorded before on screen."""
    with runtime.session_factory() as session:
        link = store.current(session, run_id)
        if link is None or not searchable(link):
            return
        check = session.get(TicketDuplicateCheck, link.id)
        if not rules.check_due(check.checked_at if check else None, runtime.clock()):
            return
        target = Target(run_id, link.id, str(link.reference))
    try:
        with _autotask(runtime, quick=True, priority=Priority.BACKGROUND) as autotask:
            if autotask is None:
                return
            found = _search(autotask, [target.reference])
    except (ConnectorError, TicketError) as exc:
        log.info("duplicate check skipped for run %s: %s", run_id, exc)
        return
    record(runtime, [target], found_tickets(found), checked=True)


# --- the operator's choice -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Choice:
    detection_id: int
    reference: str
    kept: FoundTicket
    publish: int
    # Tickets an earlier, failed attempt with the same choice already gave the note.
    noted_before: frozenset[int]


def keep(runtime: Runtime, run_id: int, ticket_id: int, *, actor: str) -> LinkResult:
    """Keep ``ticket_id`` linked to the run and give every other ticket carrying the run's
    reference the internal note naming it. Raises a TicketError (refused, invalid choice,
    Autotask failed or unavailable)."""
    choice = _prepare(runtime, run_id, ticket_id, actor)
    noted: list[dict[str, Any]] = []
    gone: list[dict[str, Any]] = []
    with _autotask(runtime) as autotask:
        if autotask is None:
            _refuse(runtime, actor, run_id, "The Autotask integration is disabled.")
        try:
            found = _search(autotask, [choice.reference]).get(choice.reference, [])
            kept = next((t for t in found if t.id == choice.kept.id), None)
            if kept is None:
                target = Target(run_id, 0, choice.reference)
                record(runtime, [target], found_tickets({choice.reference: found}), actor=actor)
                _refuse(
                    runtime, actor, run_id,
                    f"Autotask ticket {choice.kept.number} no longer carries this run's reference "
                    "(deleted or changed in Autotask). The run's duplicates were checked again.",
                )  # fmt: skip
            url = ticket_url(autotask, kept.id)
            kept_found = FoundTicket(kept.id, kept.number)
            text = rules.note_text(kept_found, run_id, choice.reference)
            others = rules.to_note([FoundTicket(t.id, t.number) for t in found], kept.id)
            for other in others:
                if other.id in choice.noted_before:
                    noted.append({**other.as_dict(), "note_id": None})
                    continue
                try:
                    note_id = autotask.connector.add_note(other.id, text, internal=True)
                except RemoteNotFound:
                    gone.append(other.as_dict())  # deleted meanwhile: nothing to note
                    continue
                noted.append({**other.as_dict(), "note_id": note_id})
        except ConnectorError as exc:
            _failed(runtime, actor, run_id, choice, noted, error_details(exc))
            raise translate(exc) from None
    return _apply(runtime, actor, run_id, choice, kept, url, noted, gone)


def _options(values: list[Any]) -> list[policy.PicklistOption]:
    return [policy.PicklistOption(int(v.value_id), v.name, bool(v.active)) for v in values]


def _prepare(runtime: Runtime, run_id: int, ticket_id: int, actor: str) -> _Choice:
    """Everything keep needs from the database, checked before any request."""
    with runtime.session_factory() as session:
        runs.get_run(session, run_id)
        detection = open_for_run(session, run_id)
        if detection is None:
            why = "This run has no duplicate tickets to choose from."
        else:
            try:
                kept = rules.validate_choice(tickets_of(detection), ticket_id)
            except InvalidChoice as exc:
                field_error = {"field": "ticket_id", "message": "not one of the duplicates"}
                raise TicketInputInvalid(str(exc), details={"fields": [field_error]}) from None
            link = store.current(session, run_id)
            if link is not None and link.state == LinkState.CREATING.value:
                raise TicketBeingCreated("A ticket is being created for this run.")
            lists = reference.options(session)
            publish = policy.internal_publish_value(_options(lists.get("publish", [])))
            if not current_settings(session).enabled:
                why = "The Autotask integration is disabled."
            elif publish is None:
                why = policy.BLOCK_MESSAGES[policy.ResolveBlock.NO_INTERNAL_PUBLISH]
            else:
                same = detection.kept_ticket_id == kept.id
                return _Choice(
                    detection.id, detection.reference, kept, publish,
                    frozenset(detection.noted_ticket_ids or []) if same else frozenset(),
                )  # fmt: skip
    _refuse(runtime, actor, run_id, why)


def _apply(
    runtime: Runtime,
    actor: str,
    run_id: int,
    choice: _Choice,
    kept: RemoteTicket,
    url: str | None,
    noted: list[dict[str, Any]],
    gone: list[dict[str, Any]],
) -> LinkResult:
    """Record the choice: the detection resolved, the run linked to the kept ticket."""
    with runtime.session_factory() as session:
        now = runtime.clock()
        detection = session.get(TicketDuplicateRow, choice.detection_id)
        link = store.current(session, run_id)
        details = _details(choice, noted, gone) | {"replaced": store.describe(link)}
        conflict = _conflict(detection, link)
        if conflict is not None:
            store.audit_action(
                session, actor=actor, action=RESOLVED, run_id=run_id, outcome="conflict",
                details=details,
            )  # fmt: skip
            session.commit()
            raise TicketActionRefused(conflict)
        assert detection is not None  # _conflict says so
        detection.kept_ticket_id = kept.id
        detection.noted_ticket_ids = sorted(int(n["id"]) for n in noted)
        detection.open_run_id = None
        detection.resolved_at, detection.resolved_by, detection.resolution = now, actor, "kept"
        message = _message(kept.number, noted, gone)
        relink = link is None or link.ticket_id != kept.id
        store.audit_action(
            session, actor=actor, action=RESOLVED, run_id=run_id,
            details={**details, "relinked": relink},
        )  # fmt: skip
        if not relink and link is not None:
            session.commit()
            return LinkResult(link, message)
        new = store.new_row(
            links.linked(run_id, kept.id, kept.number, actor, now),
            ticket_url=url,
            last_status_id=kept.status_id,
            last_status_label=kept.status_label or None,
            reference=choice.reference,
        )
        if store.replace(session, link, new, now):
            return LinkResult(new, message)
    _failed(runtime, actor, run_id, choice, noted, {"error": "the run's link changed meanwhile"})
    raise TicketActionRefused("The run's ticket changed meanwhile; reload and try again.")


def _conflict(detection: TicketDuplicateRow | None, link: TicketLinkRow | None) -> str | None:
    """Why the choice can no longer be recorded: someone else got there first."""
    if detection is None or detection.open_run_id is None:
        return "The duplicate tickets were resolved meanwhile; reload the run."
    if link is not None and link.state == LinkState.CREATING.value:
        return "A ticket is being created for this run."
    return None


def _details(
    choice: _Choice, noted: list[dict[str, Any]], gone: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "detection_id": choice.detection_id,
        "reference": choice.reference,
        "kept": choice.kept.as_dict(),
        "noted": noted,
        "gone": gone,
        "publish": choice.publish,
    }


def _message(number: str, noted: list[dict[str, Any]], gone: list[dict[str, Any]]) -> str:
    message = f"Autotask ticket {number} kept for this run"
    if noted:
        message += "; internal note added to " + ", ".join(str(n["number"]) for n in noted)
    if gone:
        message += "; no longer in Autotask: " + ", ".join(str(g["number"]) for g in gone)
    return message + "."


def _refuse(runtime: Runtime, actor: str, run_id: int, why: str) -> NoReturn:
    with runtime.session_factory() as session:
        store.audit_action(
            session, actor=actor, action=RESOLVED, run_id=run_id, outcome="refused",
            details={"reason": why},
        )  # fmt: skip
        session.commit()
    raise TicketActionRefused(why)


def _failed(
    runtime: Runtime,
    actor: str,
    run_id: int,
    choice: _Choice,
    noted: list[dict[str, Any]],
    error: dict[str, Any],
) -> None:
    """Audit a keep that did not finish, keeping the notes added so far on the detection: a
    retry with the same choice does not note those tickets twice."""
    with runtime.session_factory() as session:
        detection = session.get(TicketDuplicateRow, choice.detection_id)
        if detection is not None and detection.open_run_id is not None:
            same = detection.kept_ticket_id == choice.kept.id
            before = set(detection.noted_ticket_ids or []) if same else set()
            detection.kept_ticket_id = choice.kept.id
            detection.noted_ticket_ids = sorted(before | {int(n["id"]) for n in noted})
        store.audit_action(
            session, actor=actor, action=RESOLVED, run_id=run_id, outcome="failed",
            details={**_details(choice, noted, []), **error},
        )  # fmt: skip
        session.commit()
