"""`ticketbridge mail import PATH...`, `mail reparse` and `mail sources list|add|poll`."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from ticketbridge.cli.common import console, errors, fail, open_runtime
from ticketbridge.connectors.mail.files import count_eml, iter_eml
from ticketbridge.services.mail import intake as mail_intake
from ticketbridge.services.mail import polling as mail_polling
from ticketbridge.services.mail import sources as mail_sources
from ticketbridge.services.mail.sources import SourceError
from ticketbridge.storage.db import session_scope

app = typer.Typer(
    help="Backup report mail: import, reparse and mail sources.", no_args_is_help=True
)
sources = typer.Typer(help="Mail sources (IMAP, Microsoft Graph, SMTP).", no_args_is_help=True)
app.add_typer(sources, name="sources")
BATCH = 100


def _progress(label: str) -> Progress:
    return Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
    )


@app.command("import")
def import_mail(
    paths: list[Path] = typer.Argument(..., help=".eml files or folders (searched recursively)"),
) -> None:
    """Store .eml files like received mail: de-duplicated, parsed, routed to runs or the Inbox."""
    runtime = open_runtime()
    total = count_eml(paths)
    if total == 0:
        raise fail("no .eml files found under the given paths")
    counts = {"new": 0, "repeat": 0, "runs": 0, "waiting": 0, "skipped": 0}

    def skipped(path: Path, reason: str) -> None:
        counts["skipped"] += 1
        errors.print(f"  skipped {path}: {reason}", highlight=False)

    mails = iter_eml(paths, max_bytes=runtime.settings.mail_max_bytes, on_skip=skipped)
    with _progress("importing") as progress:
        bar = progress.add_task("mail", total=total)
        done = False
        while not done:
            with session_scope(runtime.session_factory) as session:
                for _ in range(BATCH):
                    item = next(mails, None)
                    if item is None:
                        done = True
                        break
                    accepted = mail_intake.accept(
                        session,
                        item.raw,
                        now=runtime.clock(),
                        max_bytes=runtime.settings.mail_max_bytes,
                        received_at=item.received_at,
                    )
                    counts["new" if accepted.created else "repeat"] += 1
                    counts["runs"] += len(accepted.run_ids) if accepted.created else 0
                    counts["waiting"] += int(accepted.created and accepted.awaiting_approval)
                    progress.advance(bar)
            progress.update(bar, completed=sum(counts[k] for k in ("new", "repeat", "skipped")))
    console.print(
        f"imported {counts['new']} new mail(s), {counts['repeat']} stored before, "
        f"{counts['skipped']} skipped; {counts['runs']} run(s), "
        f"{counts['waiting']} waiting for approval in the Inbox"
    )


@app.command("reparse")
def reparse(
    mail_id: list[int] = typer.Option(None, "--id", help="Only these mails (repeatable)"),
) -> None:
    """Run the parsers again over stored mail; runs made before are found, never duplicated."""
    runtime = open_runtime()
    with _progress("reparsing") as progress:
        bar = progress.add_task("mail", total=None)

        def step(done: int, total: int) -> None:
            progress.update(bar, completed=done, total=total)

        result = mail_intake.reparse(
            runtime.session_factory,
            now=runtime.clock,
            max_bytes=runtime.settings.mail_max_bytes,
            mail_ids=mail_id or None,
            progress=step,
        )
    console.print(
        f"reparsed {result.mails} mail(s): {result.runs} run(s), "
        f"{result.awaiting} waiting for approval, {result.failed} failed"
    )


@sources.command("list")
def list_sources() -> None:
    runtime = open_runtime()
    table = Table("id", "name", "kind", "enabled", "last poll", "last error", "counts")
    with runtime.session_factory() as session:
        for source in mail_sources.list_sources(session):
            view = mail_sources.SourceView.of(source)
            table.add_row(
                str(view.id),
                view.name,
                view.kind,
                "yes" if view.enabled else "no",
                view.last_poll_at.isoformat(timespec="seconds") if view.last_poll_at else "-",
                view.last_error or "-",
                f"{view.fetched_count} fetched, {view.stored_count} new",
            )
    console.print(table)


@sources.command("add")
def add_source(
    kind: str = typer.Option(..., help="imap, graph or smtp"),
    name: str = typer.Option(...),
    config: str = typer.Option("{}", help='JSON, e.g. {"host": "imap.example.com", ...}'),
    secret_file: Path | None = typer.Option(
        None, help="Read the password or client secret from this file instead of a prompt"
    ),
    disabled: bool = typer.Option(False, "--disabled", help="Add it switched off"),
) -> None:
    """Add a mail source. The secret is asked for (hidden) and stored encrypted."""
    try:
        values = json.loads(config)
    except json.JSONDecodeError as exc:
        raise fail(f"--config is not valid JSON: {exc.msg}") from exc
    if not isinstance(values, dict):
        raise fail("--config must be a JSON object")
    secret = None
    if kind in mail_sources.SECRET_FIELDS:
        if secret_file is not None:
            secret = secret_file.read_text(encoding="utf-8").strip()
        elif mail_sources.secret_required(kind):
            secret = typer.prompt(
                mail_sources.SECRET_FIELDS[kind].replace("_", " "), hide_input=True
            )
        else:  # a Microsoft 365 mailbox signed in with a device code needs no client secret
            label = mail_sources.SECRET_FIELDS[kind].replace("_", " ")
            secret = typer.prompt(
                f"{label} (empty for a delegated mailbox)",
                default="",
                show_default=False,
                hide_input=True,
            )
    runtime = open_runtime()
    try:
        with session_scope(runtime.session_factory) as session:
            source = mail_sources.create_source(
                session,
                runtime.secret_box,
                kind=kind,
                name=name,
                config=values,
                secret=secret,
                enabled=not disabled,
                actor="cli",
            )
            source_id = source.id
    except SourceError as exc:
        raise fail(str(exc)) from exc
    console.print(f"mail source {source_id} ({name}) added")


@sources.command("poll")
def poll_sources(
    source_id: list[int] = typer.Argument(
        None, help="Sources to poll (default: every enabled one)"
    ),
) -> None:
    """Poll now, in this process (the worker polls on its own schedule as well)."""
    runtime = open_runtime()
    with runtime.session_factory() as session:
        ids = source_id or [
            s.id
            for s in mail_sources.list_sources(session)
            if s.enabled and s.kind in mail_sources.POLLED
        ]
    failed = False
    for one in ids:
        result = mail_polling.poll(runtime, one)
        if not result.polled:
            console.print(f"source {one}: not polled (disabled, or being polled right now)")
        elif result.error:
            failed = True
            errors.print(f"source {one}: {result.error}", highlight=False)
        else:
            console.print(
                f"source {one}: {result.fetched} fetched, {result.stored} new, "
                f"{result.duplicates} stored before"
            )
    if failed:
        raise typer.Exit(1)
