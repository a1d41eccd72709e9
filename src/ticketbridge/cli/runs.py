"""`ticketbridge runs import-json FILE`."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from pydantic import TypeAdapter, ValidationError
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ticketbridge.cli.common import console, errors, fail, open_runtime
from ticketbridge.core.statuses import RunSource
from ticketbridge.services.runs import ingest as run_ingest
from ticketbridge.services.runs.input import RunIn

app = typer.Typer(help="Runs.", no_args_is_help=True)
BATCH = 500


def load_runs(path: Path) -> list[RunIn]:
    """A JSON array of runs, or {"runs": [...]}, as POST /api/v1/runs takes them. Every item is
    checked before anything is stored."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise fail(f"{path}: not readable JSON: {exc}") from exc
    items = data.get("runs") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise fail(f"{path}: expected a JSON array of runs or an object with a 'runs' array")
    try:
        return TypeAdapter(list[RunIn]).validate_python(items)
    except ValidationError as exc:
        for error in exc.errors()[:20]:
            location = ".".join(str(part) for part in error["loc"])
            errors.print(f"  item {location}: {error['msg']}", highlight=False)
        raise fail(f"{path}: {exc.error_count()} invalid field(s); nothing was imported") from exc


@app.command("import-json")
def import_json(file: Path = typer.Argument(..., exists=True, dir_okay=False)) -> None:
    items = load_runs(file)
    runtime = open_runtime()
    ahead = run_ingest.too_far_ahead(items, runtime.clock())
    if ahead:
        for problem in ahead[:20]:
            errors.print(
                f"  item {problem.index}.{problem.field}: {problem.message}", highlight=False
            )
        raise fail(f"{file}: {len(ahead)} run(s) in the future; nothing was imported")
    created = existing = 0
    with Progress(
        TextColumn("importing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
    ) as progress:
        bar = progress.add_task("runs", total=len(items))
        for start in range(0, len(items), BATCH):
            batch = items[start : start + BATCH]
            results = run_ingest.ingest(
                runtime.session_factory, batch, source=RunSource.API, actor="cli"
            )
            created += sum(1 for r in results if r.created)
            existing += sum(1 for r in results if not r.created)
            progress.advance(bar, len(batch))
    console.print(f"imported {created} new run(s); {existing} were already stored")
