"""Fields of a new ticket (design §3.3, §7.3, §7.3A)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from ticketbridge.core.mapping_status import (
    UNMAPPED,
    Company,
    CompanyRead,
    map_to,
    refresh,
)
from ticketbridge.core.statuses import RunStatus
from ticketbridge.core.ticket_fields import (
    Blocked,
    BlockReason,
    TicketDefaults,
    TicketFields,
    new_ticket_fields,
)

NOW = datetime(2026, 1, 13, tzinfo=UTC)
MAPPED = map_to(Company(500, "Acme Corp"), NOW)
DEFAULTS = TicketDefaults(
    queue_id=29683482, source_id=8, status_id=1, priority_warning_id=2, priority_error_id=1
)
BASE_URL = "https://tb.example.com"


def fields(status: RunStatus = RunStatus.ERROR, **kw: object) -> TicketFields | Blocked:
    args: dict[str, object] = {
        "mapping": MAPPED,
        "defaults": DEFAULTS,
        "base_url": BASE_URL,
    } | kw
    return new_ticket_fields(status, "Acme", **args)  # type: ignore[arg-type]


def test_7_3_new_ticket_gets_company_from_mapping_and_defaults_from_settings() -> None:
    assert fields() == TicketFields(
        company_id=500, queue_id=29683482, status_id=1, priority_id=1, source_id=8
    )


@pytest.mark.parametrize(
    ("status", "priority"),
    [
        (RunStatus.WARNING, 2),
        (RunStatus.ERROR, 1),
        (RunStatus.FAILED, 1),
        (RunStatus.MISSED, 1),
        (RunStatus.SUCCESS, 2),
        (RunStatus.UNKNOWN, 2),
    ],
)
def test_7_3_priority_follows_the_run_status(status: RunStatus, priority: int) -> None:
    result = fields(status)
    assert isinstance(result, TicketFields) and result.priority_id == priority


def test_7_3_issue_type_is_left_unset() -> None:
    result = fields()
    assert isinstance(result, TicketFields)
    assert result.issue_type_id is None and result.sub_issue_type_id is None


def test_3_3_missing_mapping_blocks_creation() -> None:
    for mapping in (UNMAPPED, None):
        result = fields(mapping=mapping)
        assert isinstance(result, Blocked) and result.code is BlockReason.MAPPING_MISSING
        assert "not mapped" in result.reason


def test_3_3_invalid_mapping_blocks_creation_with_its_reason() -> None:
    invalid = refresh(MAPPED, CompanyRead.NOT_FOUND, NOW)
    result = fields(mapping=invalid)
    assert isinstance(result, Blocked) and result.code is BlockReason.MAPPING_INVALID
    assert "deleted" in result.reason


def test_3_2_renamed_mapping_does_not_block_creation() -> None:
    renamed = refresh(MAPPED, Company(500, "Acme Group"), NOW)
    result = fields(mapping=renamed)
    assert isinstance(result, TicketFields) and result.company_id == 500


@pytest.mark.parametrize("base_url", [None, "", "not a url"])
def test_7_3a_missing_or_invalid_base_url_blocks_creation(base_url: str | None) -> None:
    result = fields(base_url=base_url)
    assert isinstance(result, Blocked) and result.code is BlockReason.BASE_URL


def test_7_3_unconfigured_defaults_block_creation_and_are_named() -> None:
    result = fields(defaults=replace(DEFAULTS, queue_id=None, priority_error_id=None))
    assert isinstance(result, Blocked) and result.code is BlockReason.DEFAULT_MISSING
    assert "queue" in result.reason and "priority for Error" in result.reason


def test_7_3_only_the_priority_the_run_needs_must_be_configured() -> None:
    defaults = replace(DEFAULTS, priority_error_id=None)
    assert isinstance(fields(RunStatus.WARNING, defaults=defaults), TicketFields)


def test_7_3_source_is_optional() -> None:
    result = fields(defaults=replace(DEFAULTS, source_id=None))
    assert isinstance(result, TicketFields) and result.source_id is None
