"""The operator's choice among duplicate tickets (issue 9 item 2): :func:`keep` links the run
to the kept ticket and gives every other ticket carrying the run's reference the fixed internal
note naming it; ``ticket.duplicates_resolved`` names both. Nothing is closed or deleted. A keep
that stops half-way remembers the tickets already noted, so a retry notes none twice."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NoReturn

from ticketbridge.connectors.errors import ConnectorError, RemoteNotFound
from ticketbridge.connectors.psa.base import RemoteTicket
from ticketbridge.core import resolve_policy as policy
from ticketbridge.core import ticket_duplicates as rules
from ticketbridge.core import ticket_links as links
from ticketbridge.core.ticket_duplicates import FoundTicket, InvalidChoice
from ticketbridge.core.ticket_links import LinkState
from ticketbridge.services.connections import named
from ticketbridge.services.runs import records as runs
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.tickets import store
from ticketbridge.services.tickets.duplicate_store import (
    RESOLVED,
    Target,
    found_tickets,
    open_for_run,
    record,
    tickets_of,
)
from ticketbridge.services.tickets.duplicates import connected, search
from ticketbridge.services.tickets.psa import (
    current_settings,
    error_details,
    internal_publish,
    ticket_url,
    translate,
)
from ticketbridge.services.tickets.store import (
    LinkResult,
    TicketActionRefused,
    TicketBeingCreated,
    TicketInputInvalid,
)
from ticketbridge.storage.models import TicketDuplicateRow, TicketLinkRow


@dataclass(frozen=True)
class _Choice:
    detection_id: int
    reference: str
    kept: FoundTicket
    publish: int
    connection_id: int
    # Tickets an earlier, failed attempt with the same choice already gave the note.
    noted_before: frozenset[int]


def keep(runtime: Runtime, run_id: int, ticket_id: int, *, actor: str) -> LinkResult:
    """Keep ``ticket_id`` linked to the run and give every other ticket carrying the run's
    reference the internal note naming it. Raises a TicketError (refused, invalid choice,
    Autotask failed or unavailable)."""
    choice = _prepare(runtime, run_id, ticket_id, actor)
    noted: list[dict[str, Any]] = []
    gone: list[dict[str, Any]] = []
    with connected(runtime, choice.connection_id) as autotask:
        if autotask is None:
            _refuse(runtime, actor, run_id, "The Autotask integration is disabled.")
        try:
            found = search(autotask, [choice.reference]).get(choice.reference, [])
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
            raise translate(exc, autotask.name) from None
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
            # The duplicates live where the link that found them points.
            found_by = store.get(session, detection.link_id)
            connection_id = found_by.connection_id if found_by is not None else None
            publish = internal_publish(session, connection_id)
            if connection_id is None or not current_settings(session, connection_id).enabled:
                why = "The Autotask integration is disabled."
            elif publish is None:
                why = policy.BLOCK_MESSAGES[policy.ResolveBlock.NO_INTERNAL_PUBLISH]
            else:
                same = detection.kept_ticket_id == kept.id
                return _Choice(
                    detection.id, detection.reference, kept, publish, connection_id,
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
            named.get(session, choice.connection_id),
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
