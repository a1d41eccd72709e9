"""The run-to-ticket link state machine (design §4.2, §5, §6A, §6B, §8, §9)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from ticketbridge.core.roles import Permission, Role, can
from ticketbridge.core.statuses import RunStatus
from ticketbridge.core.ticket_links import (
    REQUIRED_PERMISSION,
    SUCCESS_NEEDS_SETTING,
    Action,
    IntegrationMode,
    LinkOrigin,
    LinkState,
    RunContext,
    TicketLink,
    TransitionError,
    allowed_actions,
    created,
    creation_failed,
    disabled_actions,
    left_open,
    linked,
    manual,
    record_found,
    record_miss,
    refusal,
    reserve,
    resolved,
    state_label,
    supersede,
    validation_due,
)

T0 = datetime(2026, 1, 13, 9, 0, tzinfo=UTC)
ENABLED = IntegrationMode.ENABLED
COMPAT = IntegrationMode.COMPATIBILITY
DISABLED = IntegrationMode.DISABLED


def active_link() -> TicketLink:
    return created(reserve(7, "op", T0), 128926, "T20260113.0001", T0)


def test_4_2_create_reserves_a_creating_link_before_the_request() -> None:
    link = reserve(7, "op", T0)
    assert (link.state, link.origin, link.created_by, link.created_at) == (
        LinkState.CREATING,
        LinkOrigin.CREATED,
        "op",
        T0,
    )
    assert allowed_actions(link, ENABLED) == frozenset()
    assert refusal(Action.CREATE, link, ENABLED) == "A ticket is being created for this run."


def test_5_created_link_stores_ticket_id_and_number() -> None:
    link = active_link()
    assert (link.state, link.ticket_id, link.ticket_number) == (
        LinkState.ACTIVE,
        128926,
        "T20260113.0001",
    )
    with pytest.raises(TransitionError):
        created(link, 1, "T2", T0)


def test_4_2_a_refused_create_releases_the_reservation_as_history() -> None:
    link = creation_failed(reserve(7, "op", T0), T0)
    assert link.state is LinkState.SUPERSEDED and not link.is_current


def test_4_2_run_without_ticket_offers_create_and_link_existing() -> None:
    assert allowed_actions(None, ENABLED) == {Action.CREATE, Action.LINK_EXISTING}


def test_4_2_run_with_a_ticket_offers_open_and_resolve_instead_of_create() -> None:
    assert allowed_actions(active_link(), ENABLED) == {Action.OPEN, Action.RESOLVE}
    assert refusal(Action.CREATE, active_link(), ENABLED) == "This run already has a ticket."


def test_7_5_resolve_is_not_offered_when_switched_off() -> None:
    assert allowed_actions(active_link(), ENABLED, allow_resolve=False) == {Action.OPEN}
    assert "switched off" in (refusal(Action.RESOLVE, active_link(), ENABLED, False) or "")


def test_6_3_resolved_link_can_still_be_opened_only() -> None:
    link = resolved(active_link(), 5, T0)
    assert link.state is LinkState.RESOLVED
    assert allowed_actions(link, ENABLED) == {Action.OPEN}


def test_6_2_left_open_link_shows_the_count_and_leaves_closing_to_the_owner() -> None:
    link = left_open(active_link(), 3, 1, T0)
    assert link.state is LinkState.LEFT_OPEN_TIME_ENTRIES
    assert state_label(link) == "Resolve requested, left open: 3 time entries"
    assert allowed_actions(link, ENABLED) == {Action.OPEN}


def test_6a_2_link_existing_gives_a_validated_link() -> None:
    link = linked(7, 99, "T20250101.0002", "op", T0)
    assert link.origin is LinkOrigin.LINKED and link.has_validated_ticket
    assert Action.RESOLVE in allowed_actions(link, ENABLED)


def test_6a_1_manual_number_is_shown_but_never_resolved() -> None:
    link = manual(7, "T20240101.0001", "op", T0)
    assert not link.has_validated_ticket
    assert allowed_actions(link, ENABLED) == {Action.LINK_EXISTING}
    assert state_label(link) == "Manual ticket number"


def test_6a_1_disabled_integration_offers_only_manual_numbers() -> None:
    assert allowed_actions(None, DISABLED) == {Action.MANUAL_NUMBER}
    assert allowed_actions(manual(7, "T1", "op", T0), DISABLED) == {Action.MANUAL_NUMBER}
    assert allowed_actions(active_link(), DISABLED) == frozenset()
    assert refusal(Action.OPEN, active_link(), DISABLED) == "The Autotask integration is disabled."


def test_6a_3_compatibility_mode_allows_manual_numbers_while_enabled() -> None:
    assert allowed_actions(None, COMPAT) == {
        Action.CREATE,
        Action.LINK_EXISTING,
        Action.MANUAL_NUMBER,
    }
    manual_link = manual(7, "T1", "op", T0)
    assert allowed_actions(manual_link, COMPAT) == {Action.LINK_EXISTING, Action.MANUAL_NUMBER}
    assert Action.MANUAL_NUMBER not in allowed_actions(None, ENABLED)
    assert "Only a ticket linked" in (refusal(Action.RESOLVE, manual_link, COMPAT) or "")


def test_6a_2_linking_replaces_the_old_link_which_stays_as_history() -> None:
    old = supersede(manual(7, "T1", "op", T0), T0)
    assert old.state is LinkState.SUPERSEDED and old.superseded_at == T0
    assert old.ticket_number == "T1"
    with pytest.raises(ValueError):
        allowed_actions(old, ENABLED)
    with pytest.raises(TransitionError):
        supersede(reserve(7, "op", T0), T0)


def test_6b_1_first_miss_marks_link_suspected_only() -> None:
    link = record_miss(active_link(), T0)
    assert link.state is LinkState.ACTIVE and link.suspected_missing
    assert state_label(link, "Autotask") == "Not found in Autotask (checking again)"
    assert allowed_actions(link, ENABLED) == {Action.OPEN, Action.RESOLVE}


def test_6b_1_second_miss_within_a_minute_does_not_confirm() -> None:
    link = record_miss(record_miss(active_link(), T0), T0 + timedelta(seconds=59))
    assert link.state is LinkState.ACTIVE and link.missing_since == T0


def test_6b_1_second_miss_a_minute_later_confirms_deleted_in_autotask() -> None:
    link = record_miss(record_miss(active_link(), T0), T0 + timedelta(minutes=1))
    assert link.state is LinkState.DELETED_EXTERNAL
    assert link.deleted_at == T0 + timedelta(minutes=1)
    assert state_label(link, "Jira") == "Deleted in Jira"
    assert link.ticket_id == 128926 and link.ticket_number == "T20260113.0001"


def test_6b_1_one_glitch_never_flips_a_link() -> None:
    link = record_miss(active_link(), T0)
    link = record_found(link, 8, T0 + timedelta(seconds=30))
    assert not link.suspected_missing and link.last_status_id == 8
    link = record_miss(link, T0 + timedelta(minutes=2))
    assert link.state is LinkState.ACTIVE and link.suspected_missing


def test_6b_2_deleted_ticket_allows_only_relink_and_create_new() -> None:
    link = record_miss(record_miss(active_link(), T0), T0 + timedelta(minutes=5))
    for mode in (ENABLED, COMPAT):
        assert allowed_actions(link, mode) == {Action.RELINK, Action.CREATE_NEW}
    assert "deleted in Autotask" in (refusal(Action.RESOLVE, link, ENABLED) or "")


def test_6b_2_deleted_link_is_kept_when_a_new_link_replaces_it() -> None:
    deleted = record_miss(record_miss(active_link(), T0), T0 + timedelta(minutes=5))
    history = supersede(deleted, T0 + timedelta(minutes=6))
    assert history.state is LinkState.SUPERSEDED and history.deleted_at is not None


def test_6b_misses_on_links_without_a_ticket_id_change_nothing() -> None:
    for link in (reserve(7, "op", T0), manual(7, "T1", "op", T0)):
        assert record_miss(record_miss(link, T0), T0 + timedelta(hours=1)) == link


def test_6b_3_validation_is_due_when_the_last_read_is_old_or_a_miss_waits() -> None:
    link = active_link()
    assert not validation_due(link, T0 + timedelta(minutes=4))
    assert validation_due(link, T0 + timedelta(minutes=5))
    suspected = record_miss(link, T0 + timedelta(minutes=1))
    assert not validation_due(suspected, T0 + timedelta(minutes=1, seconds=30))
    assert validation_due(suspected, T0 + timedelta(minutes=2))
    assert not validation_due(manual(7, "T1", "op", T0), T0 + timedelta(days=1))


def test_8_reporters_may_open_but_not_act_on_tickets() -> None:
    for action, permission in REQUIRED_PERMISSION.items():
        assert can(Role.OPERATOR, permission) and can(Role.ADMIN, permission)
        assert can(Role.REPORTER, permission) is (action is Action.OPEN)
    assert REQUIRED_PERMISSION[Action.RESOLVE] is Permission.REVIEW


def test_5_resolved_and_left_open_clear_a_pending_miss() -> None:
    suspected = record_miss(active_link(), T0)
    assert resolved(suspected, 5, T0).missing_since is None
    assert left_open(suspected, 2, 1, T0).missing_since is None
    with pytest.raises(TransitionError):
        left_open(replace(suspected, state=LinkState.RESOLVED), 2, 1, T0)


# --- issue 11: the run's own rules for Create --------------------------------------------------


def test_success_runs_are_offered_create_only_when_the_setting_allows_it() -> None:
    success = RunContext(RunStatus.SUCCESS)

    assert Action.CREATE not in allowed_actions(None, ENABLED, run=success)
    assert refusal(Action.CREATE, None, ENABLED, run=success) == SUCCESS_NEEDS_SETTING
    assert disabled_actions(None, ENABLED, run=success) == {}
    allowed = RunContext(RunStatus.SUCCESS, allow_success_tickets=True)
    assert Action.CREATE in allowed_actions(None, ENABLED, run=allowed)
    for status in (RunStatus.WARNING, RunStatus.ERROR, RunStatus.FAILED, RunStatus.MISSED):
        assert Action.CREATE in allowed_actions(None, ENABLED, run=RunContext(status))


def test_an_unmapped_customer_shows_create_disabled_with_the_reason() -> None:
    unmapped = RunContext(RunStatus.ERROR, mapping_blocker="Customer 'X' is not mapped.")

    assert allowed_actions(None, ENABLED, run=unmapped) == {Action.LINK_EXISTING}
    assert disabled_actions(None, ENABLED, run=unmapped) == {
        Action.CREATE: "Customer 'X' is not mapped."
    }
    assert refusal(Action.CREATE, None, ENABLED, run=unmapped) == "Customer 'X' is not mapped."


def test_the_link_still_decides_first_and_create_new_follows_the_same_run_rules() -> None:
    active = linked(1, 10, "T1", "oscar", T0)
    unmapped = RunContext(RunStatus.ERROR, mapping_blocker="not mapped")
    gone = replace(active, state=LinkState.DELETED_EXTERNAL)

    assert disabled_actions(active, ENABLED, run=unmapped) == {}
    assert refusal(Action.CREATE, active, ENABLED, run=unmapped) == "This run already has a ticket."
    assert allowed_actions(gone, ENABLED, run=unmapped) == {Action.RELINK}
    assert disabled_actions(gone, ENABLED, run=unmapped) == {Action.CREATE_NEW: "not mapped"}
    assert disabled_actions(None, DISABLED, run=unmapped) == {}
    success = RunContext(RunStatus.SUCCESS)
    assert allowed_actions(gone, ENABLED, run=success) == {Action.RELINK}
