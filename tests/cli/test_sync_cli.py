"""`ticketbridge sync create | list | run [--dry-run]` against the Autotask and Jira emulators
served on loopback ports, as an admin uses them from a shell."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from tests.conftest import TEST_SECRET_KEY
from tests.services.sync.support import (
    BACKUP_ALERTS,
    HELPDESK,
    OPS,
    company,
    connect,
    new_ticket,
    titles,
)
from tests.web.serving import serve
from ticketbridge.cli.main import app
from ticketbridge.emulators.autotask import create_app as create_autotask
from ticketbridge.emulators.jira import create_app as create_jira
from ticketbridge.services.runtime import Runtime, build_runtime
from ticketbridge.settings import Settings, get_settings
from ticketbridge.storage.models.sync import SyncReference, SyncRow, SyncRun

runner = CliRunner()


@pytest.fixture
def runtime(
    monkeypatch: pytest.MonkeyPatch,
    database_url: str,
    tmp_path: Path,
    db: sessionmaker[Session],
    settings: Settings,
    engine: Engine,
) -> Iterator[Runtime]:
    monkeypatch.setenv("TICKETBRIDGE_DATABASE_URL", database_url)
    monkeypatch.setenv("TICKETBRIDGE_SECRET_KEY", TEST_SECRET_KEY)
    monkeypatch.setenv("TICKETBRIDGE_VAR_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    yield build_runtime(settings, engine=engine)
    get_settings.cache_clear()


@pytest.fixture
def connected(runtime: Runtime) -> Iterator[tuple[int, int, int]]:
    """Both connections, to emulators on loopback; (Autotask id, Jira id, Acme's company)."""
    with (
        serve(create_autotask(seed="demo")) as autotask_url,
        serve(create_jira(seed="empty")) as jira_url,
    ):
        a, b = connect(runtime, autotask_url=autotask_url, jira_url=jira_url)
        yield a, b, company(runtime, a, "Acme")


def _since() -> datetime:
    return datetime.now().astimezone() - timedelta(days=2)


def test_create_list_dry_run_and_run_a_sync(
    runtime: Runtime, connected: tuple[int, int, int], db: sessionmaker[Session]
) -> None:
    a, b, acme = connected
    new_ticket(runtime, a, acme, "Backup failed on FS01")
    made = runner.invoke(
        app,
        [
            "sync", "create", "AT-Jira", "--a", "Autotask", "--b", "Jira",
            "--company", f"{acme}={OPS}", "--scope-a", str(acme), "--scope-b", str(OPS),
        ],
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    listed = runner.invoke(app, ["sync", "list"])
    assert "AT-Jira" in listed.output and "never" in listed.output

    dry = runner.invoke(app, ["sync", "run", "AT-Jira", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would create 1 on B and 0 on A" in dry.output
    assert "create on B: Backup failed on FS01" in dry.output
    assert "Backup failed on FS01" not in titles(runtime, b, _since())

    ran = runner.invoke(app, ["sync", "run", "AT-Jira"])
    assert ran.exit_code == 0, ran.output
    assert "run succeeded" in ran.output
    assert "Backup failed on FS01" in titles(runtime, b, _since())
    again = runner.invoke(app, ["sync", "run", "AT-Jira"])
    assert again.exit_code == 0, again.output
    assert titles(runtime, b, _since()).count("Backup failed on FS01") == 1
    with db() as session:
        assert len(session.scalars(select(SyncReference)).all()) == 1
        assert session.scalars(select(SyncRun.status)).all() == ["succeeded", "succeeded"]
    assert "succeeded" in runner.invoke(app, ["sync", "list"]).output


def test_sync_commands_say_what_is_wrong(runtime: Runtime, connected: tuple[int, int, int]) -> None:
    unknown = runner.invoke(app, ["sync", "run", "nope"])
    assert unknown.exit_code == 1 and "no sync named 'nope'" in unknown.output
    same = runner.invoke(app, ["sync", "create", "X", "--a", "Jira", "--b", "Jira"])
    assert same.exit_code == 1 and "two different connections" in same.output
    missing = runner.invoke(app, ["sync", "create", "X", "--a", "Jira", "--b", "Nowhere"])
    assert missing.exit_code == 1 and "no connection 'Nowhere'" in missing.output


def test_create_takes_a_queue_scope_and_a_jql_scope_and_runs_by_them(
    runtime: Runtime, connected: tuple[int, int, int], db: sessionmaker[Session]
) -> None:
    a, b, acme = connected
    new_ticket(runtime, a, acme, "Backup failed on FS40", BACKUP_ALERTS)
    new_ticket(runtime, a, acme, "Password reset for Kim", HELPDESK)
    new_ticket(runtime, b, OPS, "Backup of the CRM failed", queue=None)
    new_ticket(runtime, b, OPS, "Printer jam on floor 2", queue=None)
    made = runner.invoke(
        app,
        [
            "sync", "create", "AT-Jira", "--a", "Autotask", "--b", "Jira",
            "--company", f"{acme}={OPS}", "--scope-a", str(acme), "--scope-b", str(OPS),
            "--queue-a", str(BACKUP_ALERTS), "--jql-b", ' summary ~ "backup" ',
        ],
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    with db() as session:
        row = session.scalar(select(SyncRow))
        assert row is not None
        assert row.scope_a == {"company_ids": [acme], "queue_ids": [BACKUP_ALERTS]}
        assert row.scope_b == {"company_ids": [OPS], "jql": 'summary ~ "backup"'}

    ran = runner.invoke(app, ["sync", "run", "AT-Jira"])

    assert ran.exit_code == 0 and "run succeeded" in ran.output, ran.output
    on_jira, on_autotask = titles(runtime, b, _since()), titles(runtime, a, _since())
    assert "Backup failed on FS40" in on_jira and "Password reset for Kim" not in on_jira
    assert "Backup of the CRM failed" in on_autotask and "Printer jam on floor 2" not in on_autotask


@pytest.mark.parametrize(
    ("options", "says"),
    [
        (["--jql-a", "project = OPS"], "--jql-a: a autotask connection takes no query"),
        (["--jql-b", "project = OPS ORDER BY key"], "--jql-b: JQL: no ORDER BY"),
        (["--jql-b", 'summary ~ "backup'], "--jql-b: JQL: an unclosed quote"),
        (["--jql-b", "project = OPS) OR (id > 0"], "--jql-b: JQL: a closing parenthesis"),
    ],
)
def test_create_refuses_a_query_a_side_cannot_take(
    runtime: Runtime,
    connected: tuple[int, int, int],
    db: sessionmaker[Session],
    options: list[str],
    says: str,
) -> None:
    refused = runner.invoke(
        app, ["sync", "create", "AT-Jira", "--a", "Autotask", "--b", "Jira", *options]
    )

    assert refused.exit_code == 1, refused.output
    assert says in " ".join(refused.output.split())
    with db() as session:
        assert session.scalars(select(SyncRow)).all() == []


def test_create_refuses_a_queue_id_the_api_refuses(
    runtime: Runtime, connected: tuple[int, int, int]
) -> None:
    for bad in ("0", str(2**31), "x"):
        refused = runner.invoke(
            app, ["sync", "create", "X", "--a", "Autotask", "--b", "Jira", "--queue-a", bad]
        )
        assert refused.exit_code == 2 and "--queue-a" in refused.output, refused.output
