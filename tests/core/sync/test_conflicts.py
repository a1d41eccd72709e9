"""Field by field, the later change wins; the loser is kept (issue 14, item 7)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from ticketbridge.core.sync.conflicts import FieldPlan, TicketVersion, changed_fields, resolve
from ticketbridge.core.sync.content_hash import field_hashes
from ticketbridge.core.sync.field_mapping import (
    CATEGORY,
    PERSON,
    QUEUE,
    TICKET_FIELDS,
    DirectionMapping,
    TicketFields,
    Unmapped,
    ValueMap,
    category_among,
)
from ticketbridge.core.sync.sides import Side

AUTOTASK_TO_JIRA = DirectionMapping(
    status=ValueMap({"1": "10000", "8": "3", "5": "10001"}), priority=ValueMap({"2": "3"})
)
JIRA_TO_AUTOTASK = DirectionMapping(
    status=ValueMap({"10000": "1", "3": "8", "10001": "5"}), priority=ValueMap({"3": "2"})
)
SYNCED_A = TicketFields("Printer down", "Floor 2 printer", "1", "2")
SYNCED_B = TicketFields("Printer down", "Floor 2 printer", "10000", "3")
EARLY = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
LATE = EARLY + timedelta(minutes=10)


def plan(
    a: TicketFields,
    b: TicketFields,
    *,
    a_at: datetime = EARLY,
    b_at: datetime = EARLY,
    origin: Side = Side.A,
    names: tuple[str, ...] = TICKET_FIELDS,
    synced: tuple[TicketFields, TicketFields] = (SYNCED_A, SYNCED_B),
    a_to_b: DirectionMapping = AUTOTASK_TO_JIRA,
) -> FieldPlan:
    return resolve(
        TicketVersion(a, a_at),
        TicketVersion(b, b_at),
        synced_a=field_hashes(synced[0].as_dict(), names),
        synced_b=field_hashes(synced[1].as_dict(), names),
        a_to_b=a_to_b,
        b_to_a=JIRA_TO_AUTOTASK,
        origin=origin,
        names=names,
    )


def test_nothing_changed_writes_nothing() -> None:
    assert plan(SYNCED_A, SYNCED_B).writes_nothing


def test_a_field_changed_on_one_side_goes_to_the_other() -> None:
    result = plan(replace(SYNCED_A, title="Printer on fire"), SYNCED_B)
    assert result.to_b.values == {"title": "Printer on fire"}
    assert result.to_a.values == {}
    assert result.conflicts == ()


def test_a_status_changed_in_jira_goes_to_autotask_through_the_table() -> None:
    result = plan(SYNCED_A, replace(SYNCED_B, status="3"))
    assert result.to_a.values == {"status": "8"}


def both_changed_title(*, a_at: datetime, b_at: datetime) -> FieldPlan:
    return plan(
        replace(SYNCED_A, title="Printer jammed"),
        replace(SYNCED_B, title="Printer out of toner"),
        a_at=a_at,
        b_at=b_at,
    )


def test_both_sides_changed_a_field_the_later_change_wins_and_the_loser_is_logged() -> None:
    result = both_changed_title(a_at=EARLY, b_at=LATE)
    assert result.to_a.values == {"title": "Printer out of toner"}
    assert result.to_b.values == {}
    (conflict,) = result.conflicts
    assert (conflict.field, conflict.winner) == ("title", Side.B)
    assert conflict.loser_value == "Printer jammed"
    assert conflict.winner_value == "Printer out of toner"
    assert (conflict.winner_modified_at, conflict.loser_modified_at) == (LATE, EARLY)


def test_the_later_side_wins_whichever_side_it_is() -> None:
    result = both_changed_title(a_at=LATE, b_at=EARLY)
    assert result.to_b.values == {"title": "Printer jammed"}
    assert result.to_a.values == {}
    assert result.conflicts[0].loser_value == "Printer out of toner"


def test_at_equal_times_the_side_the_ticket_was_made_on_wins() -> None:
    a = replace(SYNCED_A, title="From Autotask")
    b = replace(SYNCED_B, title="From Jira")
    assert plan(a, b, origin=Side.A).to_b.values == {"title": "From Autotask"}
    assert plan(a, b, origin=Side.B).to_a.values == {"title": "From Jira"}


def test_changes_to_different_fields_are_both_kept() -> None:
    # The later ticket does not take every field: Jira's later description edit does not undo
    # Autotask's earlier title edit.
    result = plan(
        replace(SYNCED_A, title="Printer on fire"),
        replace(SYNCED_B, description="Smoke seen"),
        a_at=EARLY,
        b_at=LATE,
    )
    assert result.to_b.values == {"title": "Printer on fire"}
    assert result.to_a.values == {"description": "Smoke seen"}
    assert result.conflicts == ()


def test_both_sides_changed_to_the_same_value_is_no_conflict() -> None:
    result = plan(replace(SYNCED_A, status="8"), replace(SYNCED_B, status="3"), b_at=LATE)
    assert result.writes_nothing
    assert result.conflicts == ()


def test_a_winning_value_without_a_mapping_is_reported_not_written() -> None:
    result = plan(replace(SYNCED_A, status="7"), SYNCED_B)
    assert result.to_b.values == {}
    assert result.to_b.unmapped == (Unmapped("status", "7"),)


def test_changed_fields_compares_with_the_hashes_last_synced() -> None:
    synced = field_hashes(SYNCED_A.as_dict(), TICKET_FIELDS)
    assert changed_fields(SYNCED_A, synced) == set()
    edited = replace(SYNCED_A, description="Floor 3", priority="1")
    assert changed_fields(edited, synced) == {"description", "priority"}
    assert changed_fields(SYNCED_A, {}) == set(TICKET_FIELDS)


# --- the entity fields (the sync's contacts, teams and categories switches) --------------------

ENTITIES = (*TICKET_FIELDS, PERSON, QUEUE, CATEGORY)
WITH_TABLES = replace(
    AUTOTASK_TO_JIRA, queue=ValueMap({"29682969": "10002"}), category=ValueMap({"3": "alert"})
)


def entity_plan(a: TicketFields, b: TicketFields, names: tuple[str, ...]) -> FieldPlan:
    synced_a = replace(SYNCED_A, person="ann@acme.example", queue="1", category="2")
    synced_b = replace(SYNCED_B, person="ann@acme.example", category="standard")
    return plan(a, b, b_at=LATE, names=names, synced=(synced_a, synced_b), a_to_b=WITH_TABLES)


def test_entity_fields_go_across_through_their_tables_only_when_named() -> None:
    # All three changed on A; B as synced.
    a = replace(SYNCED_A, person="Bob@Acme.example", queue="29682969", category="3")
    b = replace(SYNCED_B, person="ann@acme.example", category="standard")
    assert entity_plan(a, b, ENTITIES).to_b.values == {
        "person": "bob@acme.example",
        "queue": "10002",
        "category": "alert",
    }
    assert entity_plan(a, b, TICKET_FIELDS).writes_nothing  # the switches off


def test_a_queue_or_category_without_a_row_or_default_is_not_carried_nor_unmapped() -> None:
    a = replace(SYNCED_A, person="ann@acme.example", queue="7", category="9")
    b = replace(SYNCED_B, person="ann@acme.example", category="standard")
    result = entity_plan(a, b, ENTITIES)
    assert result.writes_nothing
    assert result.to_b.unmapped == ()


def test_the_same_address_in_another_case_is_no_change_to_write() -> None:
    a = replace(SYNCED_A, person="ann@acme.example", queue="1", category="2")
    b = replace(SYNCED_B, person="ANN@acme.example", category="standard")
    assert entity_plan(a, b, ENTITIES).writes_nothing


def test_a_category_is_the_first_the_tables_know_else_the_first() -> None:
    assert category_among(("urgent", "alert"), {"alert", "standard"}) == "alert"
    assert category_among(("urgent",), {"alert"}) == "urgent"
    assert category_among((), {"alert"}) is None
