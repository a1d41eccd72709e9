"""Resolve policy (design §6, §6A.3, §7.5)."""

from __future__ import annotations

import pytest

from ticketbridge.core.resolve_policy import (
    RESOLVE_NOTE_TEXT,
    TIME_ENTRIES_NOTE_TEXT,
    PicklistOption,
    ResolveAction,
    ResolveBlock,
    ResolveDecision,
    TicketSnapshot,
    complete_status_value,
    decide_resolve,
    internal_publish_value,
    needs_time_entry_count,
    precheck,
)
from ticketbridge.core.ticket_links import LinkState

COMPLETE = 5
INTERNAL = 2


def decide(
    *,
    allow_resolve: bool = True,
    ticket_id: int | None = 128926,
    ticket: TicketSnapshot | None = TicketSnapshot(128926, status_id=1),
    time_entries: int | None = 0,
    publish: int | None = INTERNAL,
    complete: int | None = COMPLETE,
) -> ResolveDecision:
    return decide_resolve(
        allow_resolve=allow_resolve,
        ticket_id=ticket_id,
        ticket=ticket,
        complete_status_id=complete,
        internal_publish=publish,
        time_entry_count=time_entries,
    )


def test_6_3_fixed_note_texts_are_the_design_wording() -> None:
    assert RESOLVE_NOTE_TEXT == (
        "Ticket resolved via ticketbridge after verification that the backup issue is no "
        "longer present."
    )
    assert TIME_ENTRIES_NOTE_TEXT == (
        "Ticket marked as resolved in ticketbridge, but not closed automatically because "
        "time entries are present."
    )


def test_6_3_no_time_entries_adds_closing_note_then_sets_complete() -> None:
    decision = decide(time_entries=0)
    assert decision.action is ResolveAction.CLOSE
    assert decision.note_text == RESOLVE_NOTE_TEXT
    assert decision.set_status_id == COMPLETE
    assert decision.link_state is LinkState.RESOLVED
    assert decision.evidence == {
        "time_entries": 0,
        "status_before": 1,
        "status_after": COMPLETE,
        "publish": INTERNAL,
    }


def test_6_2_time_entries_keep_ticket_open() -> None:
    decision = decide(time_entries=3)
    assert decision.action is ResolveAction.LEAVE_OPEN
    assert decision.note_text == TIME_ENTRIES_NOTE_TEXT
    assert decision.set_status_id is None
    assert decision.link_state is LinkState.LEFT_OPEN_TIME_ENTRIES
    assert decision.run_message == "resolve requested, left open: 3 time entries"
    assert decision.evidence["status_after"] == 1 and decision.evidence["time_entries"] == 3


def test_6_2_one_time_entry_is_reported_in_the_singular() -> None:
    assert decide(time_entries=1).run_message == "resolve requested, left open: 1 time entry"


def test_6_1_already_complete_ticket_is_recorded_and_nothing_is_sent() -> None:
    decision = decide(ticket=TicketSnapshot(128926, COMPLETE), time_entries=None)
    assert decision.action is ResolveAction.ALREADY_COMPLETE
    assert decision.note_text is None and decision.set_status_id is None
    assert decision.link_state is LinkState.RESOLVED


def test_6_1_ticket_not_found_blocks_resolve() -> None:
    decision = decide(ticket=None, time_entries=None)
    assert decision.action is ResolveAction.BLOCKED
    assert decision.block is ResolveBlock.TICKET_NOT_FOUND
    assert decision.reason == "The ticket was not found in Autotask."


def test_7_5_resolve_switched_off_blocks_before_any_request() -> None:
    decision = precheck(allow_resolve=False, ticket_id=1)
    assert decision is not None and decision.block is ResolveBlock.NOT_ALLOWED
    assert decide(allow_resolve=False).block is ResolveBlock.NOT_ALLOWED


def test_6a_3_link_without_validated_ticket_id_cannot_be_resolved() -> None:
    decision = precheck(allow_resolve=True, ticket_id=None)
    assert decision is not None and decision.block is ResolveBlock.NO_TICKET_ID
    assert precheck(allow_resolve=True, ticket_id=7) is None


def test_6_1_time_entries_are_counted_only_for_an_open_ticket() -> None:
    assert needs_time_entry_count(TicketSnapshot(1, 1), COMPLETE)
    assert not needs_time_entry_count(TicketSnapshot(1, COMPLETE), COMPLETE)
    assert not needs_time_entry_count(None, COMPLETE)
    with pytest.raises(ValueError):
        decide(time_entries=None)


def test_6_3_without_an_internal_publish_value_nothing_is_sent() -> None:
    decision = decide(publish=None)
    assert decision.block is ResolveBlock.NO_INTERNAL_PUBLISH and decision.note_text is None


def test_6_3_without_a_complete_status_resolve_is_blocked() -> None:
    assert decide(complete=None).block is ResolveBlock.NO_COMPLETE_STATUS


def test_6_3_notes_are_internal_never_all_autotask_users() -> None:
    options = [
        PicklistOption(1, "All Autotask Users"),
        PicklistOption(2, "Internal Project Team"),
        PicklistOption(4, "Internal & Co-Managed"),
    ]
    assert internal_publish_value(options) == 2
    assert internal_publish_value([PicklistOption(3, "Internal Users Only")]) == 3
    assert internal_publish_value(options[:1]) is None
    assert internal_publish_value([options[0], options[2]]) is None
    assert internal_publish_value([PicklistOption(2, "Internal Users", active=False)]) is None


def test_6_3_complete_status_is_found_by_label_then_system_value() -> None:
    statuses = [PicklistOption(1, "New"), PicklistOption(5, "Complete"), PicklistOption(8, "x")]
    assert complete_status_value(statuses) == 5
    assert complete_status_value([PicklistOption(1, "New"), PicklistOption(17, "complete")]) == 17
    assert complete_status_value([PicklistOption(1, "New"), PicklistOption(5, "Done")]) == 5
    assert complete_status_value([PicklistOption(1, "New")]) is None
