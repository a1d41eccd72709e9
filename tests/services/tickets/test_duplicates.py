"""Duplicate tickets in Autotask (issue 9 item 2): the sweep finds tickets carrying one run's
reference, and the operator's choice is applied and audited; against the emulator."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import NOW, add_runs
from tests.services.autotask_world import AutotaskWorld
from tests.services.tickets.duplicate_support import copy_behind_our_back
from tests.services.tickets.support import (
    BRIGHTWATER,
    Clock,
    api_requests,
    audits,
    current,
    delete_ticket,
    last_seq,
    links,
    notes_of,
    ticket_row,
)
from ticketbridge.connectors.psa.base import RemoteTicket
from ticketbridge.core.ticket_duplicates import FoundTicket, note_text
from ticketbridge.core.ticket_links import LinkOrigin, LinkState
from ticketbridge.services.connections import settings as integration_settings
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.tickets import duplicate_choice, ticketing
from ticketbridge.services.tickets import duplicates as ticket_duplicates
from ticketbridge.services.tickets.store import (
    PsaUnavailable,
    TicketActionRefused,
    TicketInputInvalid,
)

INTERNAL_PROJECT_TEAM = 2  # the emulator's internal publish value; 1 is All Autotask Users


def _create(runtime: Runtime, run_id: int) -> tuple[int, str, str]:
    """The run's ticket through the service: id, number, reference."""
    link = ticketing.create(runtime, run_id, actor="olivia").link
    assert link.ticket_id is not None and link.ticket_number and link.reference
    return link.ticket_id, link.ticket_number, link.reference


def _view(runtime: Runtime, run_id: int) -> ticket_duplicates.DuplicatesView:
    with runtime.session_factory() as session:
        return ticket_duplicates.view(session, run_id)


def _searches(world: AutotaskWorld, since: int) -> list[str]:
    return [r for r in api_requests(world, since) if r.endswith("/Tickets/query")]


def test_sweep_finds_a_duplicate_made_behind_our_back_and_the_choice_is_applied(
    runtime: Runtime, world: AutotaskWorld, run_id: int
) -> None:
    first_id, first_number, reference = _create(runtime, run_id)
    second = copy_behind_our_back(world, reference)

    summary = ticket_duplicates.sweep(runtime)

    assert summary.found == [run_id]
    shown = _view(runtime, run_id)
    assert shown.open is not None
    assert shown.tickets == (
        FoundTicket(first_id, first_number),
        FoundTicket(second.id, second.number),
    )
    assert shown.suggested_ticket_id == first_id  # the linked one
    [found] = audits(runtime, "ticket.duplicates_found")
    assert found.subject == f"run {run_id}" and found.outcome == "found"
    assert found.details["numbers"] == [first_number, second.number]
    assert found.details["reference"] == reference
    # Nothing was changed in Autotask without the operator's choice.
    assert notes_of(world, first_id) == [] and notes_of(world, second.id) == []
    assert ticket_row(world, first_id)["status"] == 1  # type: ignore[index]
    assert ticket_row(world, second.id)["status"] == 1  # type: ignore[index]

    result = duplicate_choice.keep(runtime, run_id, second.id, actor="olivia")

    link = current(runtime, run_id)
    assert link is not None and link.id == result.link.id
    assert (link.ticket_id, link.ticket_number) == (second.id, second.number)
    assert (link.state, link.origin) == (LinkState.ACTIVE.value, LinkOrigin.LINKED.value)
    assert link.reference == reference and link.ticket_url
    replaced = [row for row in links(runtime, run_id) if row.ticket_id == first_id]
    assert [row.state for row in replaced] == [LinkState.SUPERSEDED.value]
    [note] = notes_of(world, first_id)
    assert note["description"] == note_text(
        FoundTicket(second.id, second.number), run_id, reference
    )
    assert second.number in note["description"] and note["publish"] == INTERNAL_PROJECT_TEAM
    assert notes_of(world, second.id) == []
    kept_row, noted_row = ticket_row(world, second.id), ticket_row(world, first_id)
    assert noted_row is not None and noted_row["status"] == 1  # not closed, not deleted
    assert kept_row is not None and kept_row["status"] == 1
    [resolved] = audits(runtime, "ticket.duplicates_resolved")
    assert (resolved.actor, resolved.outcome) == ("olivia", "ok")
    assert resolved.details["kept"] == {"id": second.id, "number": second.number}
    assert [(n["id"], n["number"]) for n in resolved.details["noted"]] == [(first_id, first_number)]
    assert resolved.details["relinked"] is True
    assert second.number in result.message and first_number in result.message
    assert _view(runtime, run_id).open is None

    again = ticket_duplicates.sweep(runtime)

    assert again.found == again.changed == again.cleared == []
    assert len(audits(runtime, "ticket.duplicates_found")) == 1
    assert len(audits(runtime, "ticket.duplicates_resolved")) == 1
    assert _view(runtime, run_id).open is None


def test_a_second_sweep_neither_records_nor_audits_unchanged_duplicates_again(
    runtime: Runtime, world: AutotaskWorld, run_id: int, clock: Clock
) -> None:
    _, _, reference = _create(runtime, run_id)
    copy_behind_our_back(world, reference)
    ticket_duplicates.sweep(runtime)
    clock.advance(minutes=30)

    again = ticket_duplicates.sweep(runtime)

    assert again.searched == 1 and again.found == again.changed == []
    assert len(audits(runtime, "ticket.duplicates_found")) == 1
    shown = _view(runtime, run_id)
    assert shown.open is not None and shown.open.last_seen_at == clock.now
    assert len(shown.history) == 1


def test_a_third_ticket_changes_the_detection_and_is_audited_once(
    runtime: Runtime, world: AutotaskWorld, run_id: int
) -> None:
    _, _, reference = _create(runtime, run_id)
    copy_behind_our_back(world, reference)
    ticket_duplicates.sweep(runtime)
    third = copy_behind_our_back(world, reference)

    assert ticket_duplicates.sweep(runtime).changed == [run_id]

    events = audits(runtime, "ticket.duplicates_found")
    assert [e.outcome for e in events] == ["found", "changed"]
    assert third.number in events[-1].details["numbers"]
    assert len(_view(runtime, run_id).tickets) == 3


def test_keeping_the_linked_ticket_leaves_the_link_and_notes_the_other(
    runtime: Runtime, world: AutotaskWorld, run_id: int
) -> None:
    first_id, first_number, reference = _create(runtime, run_id)
    link_before = current(runtime, run_id)
    second = copy_behind_our_back(world, reference)
    ticket_duplicates.sweep(runtime)

    duplicate_choice.keep(runtime, run_id, first_id, actor="olivia")

    link = current(runtime, run_id)
    assert link is not None and link_before is not None and link.id == link_before.id
    assert notes_of(world, first_id) == []
    [note] = notes_of(world, second.id)
    assert first_number in note["description"]
    [event] = audits(runtime, "ticket.duplicates_resolved")
    assert event.details["relinked"] is False
    assert ticket_duplicates.sweep(runtime).found == []


def test_the_choice_must_be_one_of_the_duplicates(
    runtime: Runtime, world: AutotaskWorld, run_id: int
) -> None:
    _, _, reference = _create(runtime, run_id)
    copy_behind_our_back(world, reference)
    ticket_duplicates.sweep(runtime)
    since = last_seq(world)

    with pytest.raises(TicketInputInvalid) as invalid:
        duplicate_choice.keep(runtime, run_id, 999_999, actor="olivia")

    assert invalid.value.status == 422
    assert api_requests(world, since) == []
    assert _view(runtime, run_id).open is not None


def test_keep_without_duplicates_is_refused_and_audited(runtime: Runtime, run_id: int) -> None:
    ticket_id, _, _ = _create(runtime, run_id)

    with pytest.raises(TicketActionRefused):
        duplicate_choice.keep(runtime, run_id, ticket_id, actor="olivia")

    [event] = audits(runtime, "ticket.duplicates_resolved")
    assert event.outcome == "refused"


def test_duplicates_deleted_in_autotask_clear_the_detection(
    runtime: Runtime, world: AutotaskWorld, run_id: int
) -> None:
    _, _, reference = _create(runtime, run_id)
    second = copy_behind_our_back(world, reference)
    ticket_duplicates.sweep(runtime)
    delete_ticket(world, second.id)

    assert ticket_duplicates.sweep(runtime).cleared == [run_id]

    shown = _view(runtime, run_id)
    assert shown.open is None and shown.history[0].resolution == "gone"
    [event] = audits(runtime, "ticket.duplicates_resolved")
    assert (event.actor, event.outcome) == ("system", "gone")


def test_a_failed_keep_changes_nothing_and_a_retry_notes_each_ticket_once(
    runtime: Runtime, world: AutotaskWorld, run_id: int
) -> None:
    first_id, _, reference = _create(runtime, run_id)
    second = copy_behind_our_back(world, reference)
    third = copy_behind_our_back(world, reference)
    ticket_duplicates.sweep(runtime)
    # The first note goes through, the second finds Autotask down.
    world.fault(
        kind="status", status=503, retry_after=0, count=None, methods=["POST"],
        path_contains=f"/Tickets/{third.id}/Notes",
    )  # fmt: skip

    with pytest.raises(PsaUnavailable):
        duplicate_choice.keep(runtime, run_id, first_id, actor="olivia")

    assert len(notes_of(world, second.id)) == 1 and notes_of(world, third.id) == []
    assert _view(runtime, run_id).open is not None
    [failed] = audits(runtime, "ticket.duplicates_resolved")
    assert failed.outcome == "failed"
    world.admin("DELETE", "faults")

    duplicate_choice.keep(runtime, run_id, first_id, actor="olivia")

    assert len(notes_of(world, second.id)) == 1 and len(notes_of(world, third.id)) == 1
    assert _view(runtime, run_id).open is None


def test_run_page_check_asks_autotask_at_most_every_five_minutes(
    runtime: Runtime, world: AutotaskWorld, run_id: int, clock: Clock
) -> None:
    _, _, reference = _create(runtime, run_id)
    copy_behind_our_back(world, reference)
    since = last_seq(world)

    ticket_duplicates.check_run(runtime, run_id)
    ticket_duplicates.check_run(runtime, run_id)

    assert len(_searches(world, since)) == 1
    assert _view(runtime, run_id).open is not None
    clock.advance(minutes=5)
    ticket_duplicates.check_run(runtime, run_id)
    assert len(_searches(world, since)) == 2
    assert len(audits(runtime, "ticket.duplicates_found")) == 1


def test_run_page_check_failure_leaves_what_was_recorded(
    runtime: Runtime, world: AutotaskWorld, run_id: int
) -> None:
    _create(runtime, run_id)
    world.fault(kind="status", status=503, retry_after=0, count=None)

    ticket_duplicates.check_run(runtime, run_id)  # no exception: the page is shown anyway

    assert _view(runtime, run_id).open is None


def test_sweep_searches_recent_links_in_one_query_and_skips_older_ones(
    runtime: Runtime, world: AutotaskWorld, db: sessionmaker[Session], clock: Clock
) -> None:
    [old] = add_runs(db, 1)
    _, _, old_reference = _create(runtime, old)
    clock.advance(days=31)
    recent = add_runs(db, 2, started_at=NOW + timedelta(days=31))
    references = [_create(runtime, run_id)[2] for run_id in recent]
    since = last_seq(world)

    summary = ticket_duplicates.sweep(runtime)

    assert summary.searched == 2
    [search] = [
        r for r in world.requests() if r["seq"] > since and r["path"].endswith("/Tickets/query")
    ]
    [condition] = json.loads(search["body"])["filter"]
    assert condition["op"] == "in" and condition["field"] == "externalID"
    assert sorted(condition["value"]) == sorted(references)
    assert old_reference not in condition["value"]


def test_nothing_is_sent_while_the_integration_is_disabled(
    runtime: Runtime, world: AutotaskWorld, run_id: int
) -> None:
    _create(runtime, run_id)
    with runtime.session_factory() as session:
        integration_settings.save(
            session, runtime.secret_box, {"enabled": False}, actor="t", now=NOW, kind="autotask"
        )
        session.commit()
    since = last_seq(world)

    assert ticket_duplicates.sweep(runtime).searched == 0
    ticket_duplicates.check_run(runtime, run_id)

    assert api_requests(world, since) == []


def test_record_found_records_duplicates_a_create_found(runtime: Runtime, run_id: int) -> None:
    ticket_id, number, _ = _create(runtime, run_id)
    link = current(runtime, run_id)
    assert link is not None
    other = RemoteTicket(ticket_id + 1, "T20261120.9999", 1, "New", BRIGHTWATER, "Copy")
    mine = RemoteTicket(ticket_id, number, 1, "New", BRIGHTWATER, "Backup")

    with runtime.session_factory() as session:
        outcome = ticket_duplicates.record_found(
            session, run_id, link.id, [other, mine], NOW, actor="olivia"
        )
        session.commit()

    assert outcome == "found"
    assert [t.id for t in _view(runtime, run_id).tickets] == [ticket_id, ticket_id + 1]
    [event] = audits(runtime, "ticket.duplicates_found")
    assert event.actor == "olivia" and event.details["numbers"] == [number, "T20261120.9999"]
