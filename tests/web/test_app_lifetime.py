"""An app that is gone frees what it held. A process serves one app, but a test session builds
thousands, and each one kept alive (some 8 MB, 50,000 objects) slows every later garbage
collection until a server in a late test no longer starts within its time."""

from __future__ import annotations

import gc
import weakref

import httpx
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import add_token
from tests.web.live_server import serve
from ticketbridge.core.roles import Role
from ticketbridge.settings import Settings
from ticketbridge.web.app import create_app

PATHS = ("/healthz", "/favicon.ico", "/login", "/api/docs", "/api/v1/openapi.json", "/api/v1/runs")


def _served_once(settings: Settings, engine: Engine, token: str) -> weakref.ref[object]:
    app = create_app(settings, engine=engine)
    with serve(app) as base_url:
        answers = [
            httpx.get(base_url + path, headers={"Authorization": f"Bearer {token}"}).status_code
            for path in PATHS
        ]
    assert answers == [200] * len(PATHS)
    return weakref.ref(app)


def test_an_app_that_was_served_and_dropped_is_freed(
    settings: Settings, engine: Engine, db: sessionmaker[Session]
) -> None:
    gone = _served_once(settings, engine, add_token(db, Role.OPERATOR))
    gc.collect()
    assert gone() is None
