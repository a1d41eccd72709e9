"""Scalar values as PSAs send them in JSON, read one way by every PSA connector.

Ids arrive as numbers, as strings or not at all; datetimes as ISO 8601 with or without their
offset (Autotask sends UTC with or without a zone suffix, reference §0; Jira always adds its
offset, ``2025-01-02T10:00:00.000+0000``). Connector-side only: emulators keep their own.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from dateutil.parser import isoparse


def opt_int(value: Any) -> int | None:
    """An id or count, or None when absent, empty or not a number."""
    try:
        return int(value) if value is not None and value != "" else None
    except (TypeError, ValueError):
        return None


def utc_datetime(value: Any) -> datetime | None:
    """An aware UTC datetime; a value without an offset is taken as UTC; None when unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = isoparse(value)
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
