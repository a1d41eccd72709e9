"""Resolve ticket (design §6, §6A.3, §7.5) against the emulator."""

from __future__ import annotations

import pytest

from tests.factories import NOW
from tests.services.autotask_world import AutotaskWorld
from tests.services.tickets.support import (
    api_requests,
    audits,
    current,
    delete_ticket,
    last_seq,
    log_time,
    notes_of,
    ticket_row,
)
from ticketbridge.core.resolve_policy import RESOLVE_NOTE_TEXT, TIME_ENTRIES_NOTE_TEXT
from ticketbridge.core.ticket_links import LinkState
from ticketbridge.services.connections import reference
from ticketbridge.services.connections import settings as integration_settings
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.tickets import ticketing
from ticketbridge.services.tickets.store import PsaUnavailable, TicketActionRefused

INTERNAL_PROJECT_TEAM = 2  # the emulator's internal publish value; 1 is All Autotask Users


def _ticket(runtime: Runtime, run_id: int) -> int:
    result = ticketing.create(runtime, run_id, actor="olivia")
    assert result.link.ticket_id is not None
    return result.link.ticket_id


def test_6_3_no_time_entries_adds_the_internal_note_then_completes(
    runtime: Runtime, world: AutotaskWorld, run_id: int
) -> None:
    ticket_id = _ticket(runtime, run_id)

    result = ticketing.resolve(runtime, run_id, actor="olivia")

    [note] = notes_of(world, ticket_id)
    assert note["description"] == RESOLVE_NOTE_TEXT
    assert note["publish"] == INTERNAL_PROJECT_TEAM
    row = ticket_row(world, ticket_id)
    assert row is not None and row["status"] == 5
    link = current(runtime, run_id)
    assert link is not None and link.state == LinkState.RESOLVED.value
    assert (link.resolved_by, link.last_status_label) == ("olivia", "Complete")
    assert "resolved" in result.message
    [event] = audits(runtime, "ticket.resolve")
    assert event.outcome == "close"
    assert event.details["time_entries"] == 0
    assert (event.details["status_before"], event.details["status_after"]) == (1, 5)


def test_6_3_close_sets_the_status_the_picklist_labels_complete(
    runtime: Runtime, world: AutotaskWorld, run_id: int
) -> None:
    ticket_id = _ticket(runtime, run_id)
    # A tenant whose "Complete" label sits on another value than the system one.
    relabelled = {5: "Done", 9: "Complete"}
    with runtime.session_factory() as session:
        for value in reference.options(session)["status"]:
            value.name = relabelled.get(int(value.value_id), value.name)
        session.commit()

    ticketing.resolve(runtime, run_id, actor="olivia")

    row = ticket_row(world, ticket_id)
    assert row is not None and row["status"] == 9
    [event] = audits(runtime, "ticket.resolve")
    assert (event.outcome, event.details["status_after"]) == ("close", 9)


def test_6_2_time_entries_keep_ticket_open(
    runtime: Runtime, world: AutotaskWorld, run_id: int
) -> None:
    ticket_id = _ticket(runtime, run_id)
    log_time(world, ticket_id)
    log_time(world, ticket_id)

    result = ticketing.resolve(runtime, run_id, actor="olivia")

    [note] = notes_of(world, ticket_id)
    assert note["description"] == TIME_ENTRIES_NOTE_TEXT
    assert note["publish"] == INTERNAL_PROJECT_TEAM
    row = ticket_row(world, ticket_id)
    assert row is not None and row["status"] == 1
    link = current(runtime, run_id)
    assert link is not None and link.state == LinkState.LEFT_OPEN_TIME_ENTRIES.value
    assert link.time_entries == 2
    assert result.message == "Resolve requested, left open: 2 time entries"
    with runtime.session_factory() as session:
        view = ticketing.view(session, run_id)
    assert view.label == "Resolve requested, left open: 2 time entries"
    [event] = audits(runtime, "ticket.resolve")
    assert (event.outcome, event.details["time_entries"]) == ("leave_open", 2)
    assert event.details["status_before"] == event.details["status_after"] == 1
    with pytest.raises(TicketActionRefused):
        ticketing.resolve(runtime, run_id, actor="olivia")  # §6.2: closing is the owner's now


def test_6_1_already_complete_is_recorded_and_nothing_is_sent(
    runtime: Runtime, world: AutotaskWorld, run_id: int
) -> None:
    ticket_id = _ticket(runtime, run_id)
    world.admin("PATCH", f"tickets/{ticket_id}", {"status": 5})
    seq = last_seq(world)

    ticketing.resolve(runtime, run_id, actor="olivia")

    assert notes_of(world, ticket_id) == []
    assert [r for r in api_requests(world, seq) if not r.endswith("/query")] == []
    link = current(runtime, run_id)
    assert link is not None and link.state == LinkState.RESOLVED.value
    assert audits(runtime, "ticket.resolve")[-1].outcome == "already_complete"


def test_6_1_resolve_costs_at_most_four_requests(
    runtime: Runtime, world: AutotaskWorld, run_id: int
) -> None:
    _ticket(runtime, run_id)
    seq = last_seq(world)

    ticketing.resolve(runtime, run_id, actor="olivia")

    assert len(api_requests(world, seq)) <= 4


def test_7_5_resolve_is_refused_when_switched_off(
    runtime: Runtime, world: AutotaskWorld, run_id: int
) -> None:
    ticket_id = _ticket(runtime, run_id)
    with runtime.session_factory() as session:
        integration_settings.save(
            session,
            runtime.secret_box,
            {"allow_resolve": False},
            actor="t",
            now=NOW,
            kind="autotask",
        )
        session.commit()
    seq = last_seq(world)

    with pytest.raises(TicketActionRefused, match="switched off"):
        ticketing.resolve(runtime, run_id, actor="olivia")

    assert api_requests(world, seq) == [] and notes_of(world, ticket_id) == []
    assert audits(runtime, "ticket.resolve")[-1].outcome == "refused"


def test_6b_1_resolve_of_a_deleted_ticket_is_blocked_and_marks_it_suspected(
    runtime: Runtime, world: AutotaskWorld, run_id: int
) -> None:
    ticket_id = _ticket(runtime, run_id)
    delete_ticket(world, ticket_id)

    with pytest.raises(TicketActionRefused, match="not found"):
        ticketing.resolve(runtime, run_id, actor="olivia")

    link = current(runtime, run_id)
    assert link is not None and link.missing_since is not None
    assert link.state == LinkState.ACTIVE.value  # one miss is not yet a deletion
    assert audits(runtime, "ticket.resolve")[-1].outcome == "blocked"


def test_6_unavailable_autotask_is_a_503_and_changes_nothing(
    runtime: Runtime, world: AutotaskWorld, run_id: int
) -> None:
    ticket_id = _ticket(runtime, run_id)
    world.fault(kind="status", status=503, retry_after=0, count=None)

    with pytest.raises(PsaUnavailable):
        ticketing.resolve(runtime, run_id, actor="olivia")

    world.admin("DELETE", "faults")
    link = current(runtime, run_id)
    assert link is not None and link.state == LinkState.ACTIVE.value
    assert notes_of(world, ticket_id) == []
    event = audits(runtime, "ticket.resolve")[-1]
    assert (event.outcome, event.details["status_code"]) == ("failed", 503)
