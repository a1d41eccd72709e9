"""Time formats of the API: UTC on the wire, US Eastern in extension callouts.

Dates are kept within SQL Server's ``datetime`` range (1753-01-01 to 9999-12-31), the type
behind the API: a value outside it fails as the tenant database fails, never with a Python
overflow deeper in (converting 9999-12-31T23:00-05:00 to UTC leaves ``datetime``'s range).
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

EASTERN = ZoneInfo("America/New_York")
EARLIEST = datetime(1753, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)


class OutOfRange(ValueError):
    """A well-formed date outside SQL Server's ``datetime`` range."""


def fmt(moment: datetime) -> str:
    """Canonical wire form; fixed width so that string order is time order."""
    moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


def parse(text: str) -> datetime:
    """Parse an ISO 8601 string; naive values are UTC.

    Raises ValueError when unreadable and :class:`OutOfRange` (a ValueError) when outside
    1753-01-01..9999-12-31 UTC.
    """
    value = datetime.fromisoformat(text.strip())
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        value = value.astimezone(UTC)
    except OverflowError:
        raise OutOfRange(text) from None
    if not EARLIEST <= value <= LATEST:
        raise OutOfRange(text)
    return value


def callout_time(text: str | None) -> str:
    """Callout form seen in the wild: 8 fractional digits and an hh:mm:ss offset."""
    if not text:
        return ""
    local = parse(text).astimezone(EASTERN)
    offset = local.utcoffset()
    total = int(offset.total_seconds()) if offset else 0
    sign = "-" if total < 0 else "+"
    total = abs(total)
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    return (
        f"{local:%Y-%m-%dT%H:%M:%S}.{local.microsecond:06d}00"
        f"{sign}{hours:02d}:{minutes:02d}:{seconds:02d}"
    )


def fmt_now(timestamp: float) -> str:
    """Webhook EventTime: whole seconds, UTC, ``Z``."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
