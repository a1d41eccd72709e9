"""What every request and background job needs, built once per process."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import httpx
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from ticketbridge.connectors.governor import Governors
from ticketbridge.connectors.psa.autotask.client import AutotaskCache
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
    # Zone and field metadata shared by every connector of this process: without it each
    # operation would pay for a zone lookup.
    autotask_cache: AutotaskCache = field(default_factory=AutotaskCache)
    # The request governor of each Autotask connection (3 in flight per endpoint, the hour's
    # budget, priorities), shared the same way: a governor per connector would limit nothing.
    autotask_governors: Governors = field(default_factory=Governors)

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
