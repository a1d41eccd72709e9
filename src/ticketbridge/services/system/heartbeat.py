"""Proof of life for background work: admins see when a worker last ran a job."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from ticketbridge.services.system import settings as system_settings
from ticketbridge.storage.db import session_scope

KEY = "worker_heartbeat"


def beat(factory: sessionmaker[Session], *, mode: str, now: datetime) -> None:
    with session_scope(factory) as session:
        system_settings.put(session, KEY, {"at": now.isoformat(), "mode": mode})


def last_beat(session: Session) -> dict[str, Any] | None:
    value = system_settings.get(session, KEY)
    return value if isinstance(value, dict) else None
