"""Ticket fields from one side to the other (issue 14, item 1)."""

from __future__ import annotations

from ticketbridge.core.sync.field_mapping import (
    DirectionMapping,
    MapOutcome,
    TicketFields,
    Unmapped,
    ValueMap,
    map_fields,
    with_values,
)

# Autotask status ids to Jira status ids: New -> To Do, In Progress -> In Progress,
# Complete -> Done; Waiting Customer is left out on purpose.
STATUS = ValueMap({"1": "10000", "8": "3", "5": "10001"})
PRIORITY = ValueMap({"1": "2", "2": "3", "3": "4"}, default="3")
AUTOTASK_TO_JIRA = DirectionMapping(status=STATUS, priority=PRIORITY, title_max_length=40)


def test_status_and_priority_go_through_the_table() -> None:
    mapped = map_fields(TicketFields("Backup failed", "Job X", "8", "1"), AUTOTASK_TO_JIRA)
    assert mapped.values == {
        "title": "Backup failed",
        "description": "Job X",
        "status": "3",
        "priority": "2",
    }
    assert mapped.unmapped == ()


def test_a_value_without_a_row_takes_the_default() -> None:
    assert PRIORITY.map("4").outcome is MapOutcome.DEFAULTED
    mapped = map_fields(TicketFields("t", priority="4"), AUTOTASK_TO_JIRA)
    assert mapped.values["priority"] == "3"


def test_a_value_without_a_row_or_default_is_reported_and_not_written() -> None:
    mapped = map_fields(TicketFields("Backup failed", status="7"), AUTOTASK_TO_JIRA)
    assert "status" not in mapped.values
    assert mapped.unmapped == (Unmapped("status", "7"),)
    assert STATUS.map("7").outcome is MapOutcome.UNMAPPED


def test_no_status_on_the_source_writes_none() -> None:
    mapped = map_fields(TicketFields("Backup failed"), AUTOTASK_TO_JIRA)
    assert "status" not in mapped.values and "priority" not in mapped.values
    assert mapped.unmapped == ()


def test_the_title_fits_the_target_on_one_line() -> None:
    long_title = "Backup failed\non server FS01 for customer Acme Corporation Ltd"
    title = map_fields(TicketFields(long_title), AUTOTASK_TO_JIRA).values["title"]
    assert "\n" not in title
    assert len(title) <= 40
    assert title.startswith("Backup failed on server")


def test_the_description_is_cut_to_the_target_length() -> None:
    mapping = DirectionMapping(description_max_length=100)
    description = map_fields(TicketFields("t", "word " * 100), mapping).values["description"]
    assert len(description) <= 100


def test_only_the_named_fields_are_mapped() -> None:
    mapped = map_fields(TicketFields("t", "d", "7", "1"), AUTOTASK_TO_JIRA, ("title",))
    assert mapped.values == {"title": "t"}
    assert mapped.unmapped == ()


def test_with_values_shows_the_target_after_the_write() -> None:
    jira = TicketFields("Old", "Old text", "10000", "3")
    assert with_values(jira, {"status": "3", "title": "New"}) == TicketFields(
        "New", "Old text", "3", "3"
    )
