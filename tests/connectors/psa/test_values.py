"""Ids and datetimes as Autotask and Jira send them, read by the one shared helper."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from ticketbridge.connectors.psa.values import opt_int, utc_datetime


@pytest.mark.parametrize(
    ("sent", "read"),
    [(29682885, 29682885), ("10001", 10001), (None, None), ("", None), ("OPS-1", None), ([], None)],
)
def test_ids_arrive_as_numbers_or_strings_and_anything_else_is_none(sent: Any, read: Any) -> None:
    assert opt_int(sent) == read


@pytest.mark.parametrize(
    "sent",
    [
        "2026-01-02T10:00:00",  # Autotask, no zone: UTC
        "2026-01-02T10:00:00Z",  # Autotask with the suffix
        "2026-01-02T20:00:00.000+1000",  # Jira, the site's offset
    ],
)
def test_datetimes_become_aware_utc_whatever_offset_they_carry(sent: str) -> None:
    read = utc_datetime(sent)

    assert read == datetime(2026, 1, 2, 10, 0, tzinfo=UTC)
    assert read is not None and read.tzinfo is UTC


@pytest.mark.parametrize("sent", [None, "", "yesterday", 1767348000])
def test_unreadable_datetimes_are_none(sent: Any) -> None:
    assert utc_datetime(sent) is None
