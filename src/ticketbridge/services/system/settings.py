"""Installation-wide settings kept in the database (as opposed to start-up configuration)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ticketbridge.core.timezones import is_valid_zone
from ticketbridge.storage.models import SystemSetting

UI_TIMEZONE = "ui_timezone"
DEFAULTS: dict[str, Any] = {UI_TIMEZONE: "UTC"}


class InvalidSetting(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def get(session: Session, key: str) -> Any:
    row = session.get(SystemSetting, key)
    return row.value if row is not None else DEFAULTS.get(key)


def put(session: Session, key: str, value: Any) -> None:
    row = session.get(SystemSetting, key)
    if row is None:
        session.add(SystemSetting(key=key, value=value))
    else:
        row.value = value


def ui_timezone(session: Session) -> str:
    return str(get(session, UI_TIMEZONE))


def set_ui_timezone(session: Session, zone: str) -> None:
    if not is_valid_zone(zone):
        raise InvalidSetting("ui_timezone", f"unknown timezone {zone!r}")
    put(session, UI_TIMEZONE, zone)
