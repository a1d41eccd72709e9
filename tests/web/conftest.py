from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from tests.factories import NOW
from ticketbridge.settings import Settings
from ticketbridge.web.app import create_app


@pytest.fixture
def app(settings: Settings, engine: Engine, db: sessionmaker[Session]) -> FastAPI:
    return create_app(settings, engine=engine, clock=lambda: NOW)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver") as client:
        yield client
