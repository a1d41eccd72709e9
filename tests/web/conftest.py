from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from tests.factories import NOW, add_token
from tests.services.autotask_world import AutotaskWorld
from tests.services.tickets.support import prepare
from ticketbridge.core.roles import Role
from ticketbridge.services.runtime import Runtime
from ticketbridge.settings import Settings
from ticketbridge.web.app import create_app


@pytest.fixture
def app(settings: Settings, engine: Engine, db: sessionmaker[Session]) -> FastAPI:
    # A ticket action answers with its outcome however slow a loaded machine makes it: at the
    # default wait (0.75 s) a link once answered 202, still going on, late in a full run. The
    # 202 has its own tests (test_under_load.py, and test_alerts.py with a wait of 0).
    patient = settings.model_copy(update={"ticket_action_wait_seconds": 30.0})
    return create_app(patient, engine=engine, clock=lambda: NOW)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver") as client:
        yield client


# The product wired to an in-process Autotask emulator, ready to ticket (ticket and duplicate
# tests); modules that need another world define their own ``world`` and ``api``.


@pytest.fixture
def world() -> Iterator[AutotaskWorld]:
    made = AutotaskWorld()
    yield made
    made.close()


@pytest.fixture
def ready(app: FastAPI, db: sessionmaker[Session], world: AutotaskWorld) -> Runtime:
    runtime: Runtime = app.state.ctx
    world.attach(runtime)
    prepare(runtime, db)
    return runtime


@pytest.fixture
def api(app: FastAPI, db: sessionmaker[Session], ready: Runtime) -> Iterator[TestClient]:
    token = add_token(db, Role.OPERATOR)
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        yield client
