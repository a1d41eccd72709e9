"""Shared fixtures. Tests that touch the database run once on SQLite and once on PostgreSQL.

PostgreSQL comes from TICKETBRIDGE_TEST_DATABASE_URL (default: the local `test` database). Each
test process works in a schema of its own, so parallel runs never see each other's rows. Where
PostgreSQL is unreachable its half is skipped with a visible reason, except under CI=true, where
that is a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from tests import log_secrets
from ticketbridge.services.accounts import users as accounts
from ticketbridge.settings import Settings
from ticketbridge.storage.db import make_engine, make_session_factory
from ticketbridge.storage.migrate import upgrade

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TEST_SECRET_KEY = "test-secret-key-" + "x" * 40


_LOG_CAPTURE: list[log_secrets.Capture] = []


def pytest_sessionstart(session: pytest.Session) -> None:
    # The whole session's log, searched for the test secrets at its end (tests/log_secrets.py).
    directory = Path(str(session.config.rootpath)) / "var" / "test-logs"
    _LOG_CAPTURE.append(log_secrets.start(directory, [TEST_SECRET_KEY]))


def pytest_sessionfinish(session: pytest.Session) -> None:
    if _LOG_CAPTURE:
        log_secrets.finish(_LOG_CAPTURE.pop(), session)


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Production argon2 parameters cost ~0.3 s a hash by design; tests need correctness only."""
    monkeypatch.setattr(
        accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


def postgres_url() -> str:
    return os.environ.get("TICKETBRIDGE_TEST_DATABASE_URL", DEFAULT_PG_URL)


def _postgres_engine_for_schema(base_url: str, schema: str) -> Engine:
    url = make_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"})
    return make_engine(url.render_as_string(hide_password=False))


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("db") / "test.db"
        url = f"sqlite:///{path}"
        upgrade(url)
        yield url
        return
    base = postgres_url()
    try:
        admin = make_engine(base)
        with admin.connect() as connection:
            connection.execute(text("select 1"))
    except Exception as exc:  # any failure to connect means "no PostgreSQL here"
        message = f"PostgreSQL unreachable at {make_url(base).render_as_string()}: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    schema = f"tb_test_{uuid.uuid4().hex[:10]}"
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    rendered = url.render_as_string(hide_password=False)
    upgrade(rendered)
    yield rendered
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def _wipe(engine: Engine) -> None:
    names = [n for n in inspect(engine).get_table_names() if n != "alembic_version"]
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            joined = ", ".join(f'"{n}"' for n in names)
            connection.execute(text(f"TRUNCATE {joined} RESTART IDENTITY CASCADE"))
        return
    with engine.connect() as connection:
        connection.execute(text("PRAGMA foreign_keys=OFF"))
        for name in names:
            connection.execute(text(f'DELETE FROM "{name}"'))
        # SQLite ignores this PRAGMA inside a transaction: commit first, or the pooled
        # connection keeps foreign keys (and ON DELETE CASCADE) off for later tests.
        connection.commit()
        connection.execute(text("PRAGMA foreign_keys=ON"))


@pytest.fixture
def db(engine: Engine) -> Iterator[sessionmaker[Session]]:
    """A session factory on an empty, migrated database."""
    _wipe(engine)
    yield make_session_factory(engine)


@pytest.fixture
def session(db: sessionmaker[Session]) -> Iterator[Session]:
    with db() as session:
        yield session


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        var_dir=tmp_path / "var",
        database_url=database_url,
        secret_key=TEST_SECRET_KEY,  # type: ignore[arg-type]
        _env_file=None,  # type: ignore[call-arg]
    )


def settings_kwargs(**overrides: Any) -> dict[str, Any]:
    return {"secret_key": TEST_SECRET_KEY, "_env_file": None, **overrides}
