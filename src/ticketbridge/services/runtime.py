"""What every request and background job needs, built once per process."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from ticketbridge.connectors import registry
from ticketbridge.connectors.governor import Governors
from ticketbridge.settings import Settings, resolve_secret_key
from ticketbridge.storage.db import make_engine, make_session_factory
from ticketbridge.storage.models import utcnow
from ticketbridge.storage.secrets import SecretBox


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    secret_key: str
    clock: Callable[[], datetime] = field(default=utcnow)
    # Outbound PSA traffic goes through this transport when set (tests mount an emulator here);
    # otherwise connectors open real connections.
    psa_transport: httpx.BaseTransport | None = None
    # Each PSA kind's cache shared by every connector of this process (Autotask: zone and field
    # metadata; without it each operation would pay for a zone lookup), by kind: psa_cache().
    psa_caches: dict[str, object] = field(default_factory=dict)
    # The request governor of each Autotask connection (3 in flight per endpoint, the hour's
    # budget, priorities), shared the same way: a governor per connector would limit nothing.
    psa_governors: Governors = field(default_factory=Governors)
    # Options for outbound mail connectors, by transport (services/service_desk/notices.py):
    # tests hand the Graph sender the emulator's client and a token provider here.
    mail_options: dict[str, dict[str, Any]] = field(default_factory=dict)

    def psa_cache(self, kind: str) -> object:
        """The process's cache for ``kind``'s connectors, made by the registry on first use."""
        found = self.psa_caches.get(kind)
        if found is None:
            # setdefault keeps the first of two threads' caches for both.
            found = self.psa_caches.setdefault(kind, registry.new_cache(kind))
        return found

    @property
    def secret_box(self) -> SecretBox:
        return SecretBox(self.secret_key)


def build_runtime(
    settings: Settings,
    *,
    engine: Engine | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> Runtime:
    engine = engine or make_engine(
        settings.effective_database_url, pool_size=settings.database_pool_size
    )
    return Runtime(
        settings=settings,
        engine=engine,
        session_factory=make_session_factory(engine),
        secret_key=resolve_secret_key(settings),
        clock=clock,
    )
