from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from tests.conftest import TEST_SECRET_KEY
from tests.factories import run_payload
from ticketbridge.cli.main import app
from ticketbridge.services.accounts import users as accounts
from ticketbridge.settings import get_settings
from ticketbridge.storage.models import Run, User

runner = CliRunner()


@pytest.fixture(autouse=True)
def environment(
    monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path, db: sessionmaker[Session]
) -> Iterator[None]:
    monkeypatch.setenv("TICKETBRIDGE_DATABASE_URL", database_url)
    monkeypatch.setenv("TICKETBRIDGE_SECRET_KEY", TEST_SECRET_KEY)
    monkeypatch.setenv("TICKETBRIDGE_VAR_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_token_create_prints_the_token_alone_on_the_last_line(db: sessionmaker[Session]) -> None:
    result = runner.invoke(app, ["token", "create", "--name", "rmm", "--role", "operator"])

    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    with db() as session:
        stored = accounts.authenticate_token(session, token)
        assert stored is not None and stored.name == "rmm" and stored.role == "operator"


def test_token_revoke(db: sessionmaker[Session]) -> None:
    token = runner.invoke(app, ["token", "create", "-n", "x", "-r", "admin"]).output.splitlines()[
        -1
    ]

    result = runner.invoke(app, ["token", "revoke", "--name", "x"])

    assert result.exit_code == 0
    with db() as session:
        assert accounts.authenticate_token(session, token) is None


def test_user_create_set_password_and_list(db: sessionmaker[Session]) -> None:
    created = runner.invoke(
        app,
        ["user", "create", "-u", "Frank", "-r", "admin", "--password-stdin"],
        input="first-password\n",
    )
    changed = runner.invoke(
        app, ["user", "set-password", "-u", "frank", "--password-stdin"], input="second-password\n"
    )
    listed = runner.invoke(app, ["user", "list"])

    assert created.exit_code == 0 and changed.exit_code == 0
    assert "Frank\tadmin\tactive" in listed.output
    with db() as session:
        user = session.scalars(select(User)).one()
        assert accounts._verify(user.password_hash, "second-password")


def test_user_create_refuses_a_short_password() -> None:
    result = runner.invoke(app, ["user", "create", "-u", "g", "--password-stdin"], input="short\n")

    assert result.exit_code == 1
    assert "at least 10 characters" in result.output


def test_runs_import_json_stores_every_run_once(tmp_path: Path, db: sessionmaker[Session]) -> None:
    path = tmp_path / "runs.json"
    path.write_text(
        json.dumps({"runs": [run_payload(external_id=f"imp-{i}") for i in range(1200)]})
    )

    first = runner.invoke(app, ["runs", "import-json", str(path)])
    again = runner.invoke(app, ["runs", "import-json", str(path)])

    assert first.exit_code == 0, first.output
    assert "imported 1200 new run(s)" in first.output
    assert "imported 0 new run(s); 1200 were already stored" in again.output
    with db() as session:
        assert session.scalar(select(func.count(Run.id))) == 1200


def test_runs_import_json_with_a_bad_item_imports_nothing(
    tmp_path: Path, db: sessionmaker[Session]
) -> None:
    path = tmp_path / "runs.json"
    path.write_text(json.dumps([run_payload(), run_payload(status="purple")]))

    result = runner.invoke(app, ["runs", "import-json", str(path)])

    assert result.exit_code == 1
    assert "1.status" in result.output and "nothing was imported" in result.output
    with db() as session:
        assert session.scalar(select(func.count(Run.id))) == 0


def test_runs_import_json_rejects_unreadable_json(tmp_path: Path) -> None:
    path = tmp_path / "runs.json"
    path.write_text("{oops")

    result = runner.invoke(app, ["runs", "import-json", str(path)])

    assert result.exit_code == 1
    assert "not readable JSON" in result.output


def test_db_upgrade_is_idempotent() -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
