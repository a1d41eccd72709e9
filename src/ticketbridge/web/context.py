"""What every request needs, built once per application."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from ticketbridge.settings import Settings
from ticketbridge.storage.models import utcnow
from ticketbridge.storage.secrets import SecretBox


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    secret_key: str
    clock: Callable[[], datetime] = field(default=utcnow)

    @property
    def secret_box(self) -> SecretBox:
        return SecretBox(self.secret_key)
