"""The embedded database and var/ are readable by their owner only (issue 10, item 6): they hold
password hashes, encrypted secrets, the audit trail and the demo's secret key."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.conftest import settings_kwargs
from ticketbridge.cli.common import open_runtime
from ticketbridge.settings import Settings, resolve_secret_key
from ticketbridge.storage.db import make_engine

pytestmark = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    """The common 022: without our care, files would come out world-readable."""
    before = os.umask(0o022)
    yield
    os.umask(before)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_var_and_the_database_are_created_for_the_owner_only(tmp_path: Path) -> None:
    var = tmp_path / "var"
    runtime = open_runtime(Settings(**settings_kwargs(var_dir=var, database_url="")))
    with runtime.engine.begin() as connection:  # a write, so the -wal and -shm files exist
        connection.execute(text("CREATE TABLE scratch (x INTEGER)"))
        database = var / "ticketbridge.db"
        sidecars = [Path(f"{database}-wal"), Path(f"{database}-shm")]
        assert all(p.exists() for p in sidecars)

        assert mode(var) == 0o700
        assert mode(database) == 0o600
        assert [mode(p) for p in sidecars] == [0o600, 0o600]
    runtime.engine.dispose()


def test_a_database_created_outside_var_is_for_the_owner_only_too(tmp_path: Path) -> None:
    database = tmp_path / "elsewhere" / "tb.db"

    engine = make_engine(f"sqlite:///{database}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE scratch (x INTEGER)"))
    engine.dispose()

    assert mode(database.parent) == 0o700
    assert mode(database) == 0o600


def test_an_older_wider_var_and_database_are_narrowed(tmp_path: Path) -> None:
    var = tmp_path / "var"
    var.mkdir(mode=0o755)
    database = var / "ticketbridge.db"
    database.touch(mode=0o644)

    open_runtime(Settings(**settings_kwargs(var_dir=var, database_url=""))).engine.dispose()

    assert mode(var) == 0o700
    assert mode(database) == 0o600


def test_the_demo_secret_key_lives_in_a_private_var(tmp_path: Path) -> None:
    var = tmp_path / "var"
    settings = Settings(**settings_kwargs(var_dir=var, demo_mode=True, secret_key=None))

    resolve_secret_key(settings)

    assert mode(var) == 0o700
    assert mode(var / "secret_key") == 0o600
