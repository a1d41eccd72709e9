"""Times are stored in UTC and shown in the UI timezone."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones


def as_utc(moment: datetime) -> datetime:
    """Naive datetimes are taken as UTC (SQLite returns them so)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def to_zone(moment: datetime, zone_name: str) -> datetime:
    return as_utc(moment).astimezone(ZoneInfo(zone_name))


def is_valid_zone(zone_name: str) -> bool:
    try:
        ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def zone_names() -> list[str]:
    return sorted(available_timezones())
