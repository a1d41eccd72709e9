"""`ticketbridge backup create|check` (docs/operations.md, Backups and restore)."""

from __future__ import annotations

from pathlib import Path

import typer

from ticketbridge.cli.common import console, errors, fail
from ticketbridge.services.system import backups
from ticketbridge.settings import InsecureSecretKey, get_settings, resolve_secret_key

app = typer.Typer(help="Back up the database and check a backup.", no_args_is_help=True)


@app.command("create")
def create(
    path: Path = typer.Argument(..., help="The file to write; it must not exist."),
    print_only: bool = typer.Option(
        False, "--print-command", help="PostgreSQL: print the pg_dump command instead of running it"
    ),
) -> None:
    """SQLite: a consistent copy through the online backup API, safe while the service runs.
    PostgreSQL: pg_dump in its custom format when it is installed, else the command to run."""
    settings = get_settings()
    try:
        made = backups.create(settings.effective_database_url, path, run_pg_dump=not print_only)
    except backups.BackupError as exc:
        raise fail(str(exc)) from exc
    if made.path is None:
        console.print("run this as a user that may read the database (password in PGPASSWORD):")
        print(made.command)
        return
    console.print(
        f"backup written to {made.path}; keep TICKETBRIDGE_SECRET_KEY with it, somewhere else: "
        "without that key the stored PSA and mailbox secrets in it cannot be decrypted"
    )


@app.command("check")
def check(
    copy: str = typer.Argument(
        ..., help="A SQLite backup file, or the URL of a database a pg_dump was restored into."
    ),
) -> None:
    """Open the copy and check integrity, the Alembic revision, row counts, and whether the
    configured secret key decrypts its stored secrets. Exits 1 when any check fails."""
    try:
        key = resolve_secret_key(get_settings())
    except InsecureSecretKey as exc:
        raise fail(str(exc)) from exc
    try:
        report = backups.check(copy, key)
    except backups.BackupError as exc:
        raise fail(str(exc)) from exc
    for ok, line in report.lines:
        (console if ok else errors).print(("ok    " if ok else "FAIL  ") + line, highlight=False)
    if not report.ok:
        raise typer.Exit(1)
    console.print("the backup can be restored with this installation's secret key")
