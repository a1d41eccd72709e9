"""`ticketbridge sync create | list | run`: two-way ticket sync between two connections.

The same syncs are made, changed and run from the API and the Syncs page (docs/sync.md).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table

from ticketbridge.cli.common import console, errors, fail, open_runtime
from ticketbridge.core.sync.reference_map import ItemAction
from ticketbridge.core.sync.sides import Direction, Side
from ticketbridge.services.sync import run as sync_run
from ticketbridge.services.sync import syncs
from ticketbridge.storage.db import session_scope

app = typer.Typer(help="Two-way ticket sync between two PSA connections.", no_args_is_help=True)
ARROWS = {Direction.A_TO_B: "A -> B", Direction.B_TO_A: "B -> A"}
MAX_ID = 2**31 - 1  # the API's bound on a company or queue id
# The service names a refused input by the API's field; the command says the option.
OPTIONS = {
    "name": "NAME",
    "connection_a": "--a",
    "connection_b": "--b",
    "start_date": "--start-date",
    "a_to_b": "--direction",
    "scope_a.jql": "--jql-a",
    "scope_b.jql": "--jql-b",
}


def _when(text: str | None, now: datetime) -> datetime:
    if text is None:
        return now - timedelta(days=1)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise fail(f"--start-date: not an ISO date or time: {text!r}") from exc
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _pairs(values: list[str]) -> list[tuple[str, str]]:
    pairs = []
    for value in values:
        a, sep, b = value.partition("=")
        if not sep or not a.strip() or not b.strip():
            raise fail(f"--company: expected COMPANY_ON_A=COMPANY_ON_B, got {value!r}")
        pairs.append((a.strip(), b.strip()))
    return pairs


def _scope(companies: list[int], queues: list[int], jql: str | None) -> dict[str, Any]:
    """A side's scope as the API takes it; syncs.create judges the JQL against the side's kind."""
    scope: dict[str, Any] = {"company_ids": companies} if companies else {}
    scope |= {"queue_ids": queues} if queues else {}
    return scope | ({"jql": jql} if jql is not None else {})


@app.command("create")
def create(
    name: str = typer.Argument(..., help="The sync's name"),
    a: str = typer.Option(..., "--a", help="Connection for side A (name or id)"),
    b: str = typer.Option(..., "--b", help="Connection for side B (name or id)"),
    start_date: str | None = typer.Option(
        None,
        help="ISO date or time the first run reads from (UTC unless given); default: a day ago",
    ),
    company: list[str] = typer.Option(
        [], help="COMPANY_ON_A=COMPANY_ON_B (Jira: project id); repeat for more"
    ),
    scope_a: list[int] = typer.Option(
        [], min=1, max=MAX_ID, help="Only these companies' (Jira: projects') tickets on side A"
    ),
    scope_b: list[int] = typer.Option(
        [], min=1, max=MAX_ID, help="Only these companies' (Jira: projects') tickets on side B"
    ),
    queue_a: list[int] = typer.Option(
        [], min=1, max=MAX_ID, help="Only these queues' tickets on side A (Autotask queue ids)"
    ),
    queue_b: list[int] = typer.Option(
        [], min=1, max=MAX_ID, help="Only these queues' tickets on side B (Autotask queue ids)"
    ),
    jql_a: str | None = typer.Option(
        None, help="A JQL fragment ANDed into side A's listing (a Jira side only)"
    ),
    jql_b: str | None = typer.Option(
        None, help="A JQL fragment ANDed into side B's listing (a Jira side only)"
    ),
    direction: str = typer.Option("both", help="both, a-to-b or b-to-a"),
) -> None:
    """Pair two connections. Tickets go to the company given by --company, else to the company
    the same customer is mapped to in the other connection. A side's scope (companies, queues,
    JQL) is checked as the API checks it: JQL only on a kind that takes a query (Jira)."""
    if direction not in ("both", "a-to-b", "b-to-a"):
        raise fail("--direction: both, a-to-b or b-to-a")
    runtime = open_runtime()
    now = runtime.clock()
    try:
        with session_scope(runtime.session_factory) as session:
            row = syncs.create(
                session,
                name=name,
                connection_a=a,
                connection_b=b,
                start_date=_when(start_date, now),
                actor="cli",
                now=now,
                mapping=syncs.company_tables(_pairs(company)),
                scope_a=_scope(scope_a, queue_a, jql_a),
                scope_b=_scope(scope_b, queue_b, jql_b),
                a_to_b=direction != "b-to-a",
                b_to_a=direction != "a-to-b",
            )
            made = row.id
    except syncs.SyncRefused as exc:
        raise fail(f"{OPTIONS.get(exc.field, exc.field)}: {exc.message}") from exc
    console.print(f"sync {name!r} created (id {made}); run it with: ticketbridge sync run {name}")


@app.command("list")
def list_syncs() -> None:
    """Every sync with its connections and its last run."""
    runtime = open_runtime()
    with runtime.session_factory() as session:
        found = syncs.summaries(session)
    if not found:
        console.print("no syncs yet: ticketbridge sync create NAME --a CONNECTION --b CONNECTION")
        return
    table = Table("name", "A", "B", "directions", "start date", "last run")
    for item in found:
        last = (
            f"{item.last_status} {item.last_started_at:%Y-%m-%d %H:%M}"
            if item.last_started_at is not None
            else "never"
        )
        table.add_row(
            item.name,
            item.connection_a,
            item.connection_b,
            item.directions,
            f"{item.start_date:%Y-%m-%d %H:%M}",
            last,
        )
    console.print(table)


@app.command("run")
def run(
    name: str = typer.Argument(..., help="The sync's name"),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Read both sides and show what a run would do; write nothing"
    ),
) -> None:
    """Run the sync once, both directions that are on."""
    runtime = open_runtime()
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=console
    ) as progress:
        bars: dict[Direction, TaskID] = {}

        def show(direction: Direction, done: int, total: int) -> None:
            if direction not in bars:
                bars[direction] = progress.add_task(f"tickets {ARROWS[direction]}", total=total)
            progress.update(bars[direction], completed=done, total=total)

        try:
            report = sync_run.run(runtime, name, dry_run=dry_run, progress=show)
        except sync_run.UnknownSync as exc:
            raise fail(exc.message) from exc
        except sync_run.SyncBusy as exc:
            raise fail(str(exc)) from exc
    _show(report)
    if report.status == "failed":
        raise typer.Exit(1)


def _show(report: sync_run.RunReport) -> None:
    table = Table("direction", "seen", "created", "updated", "skipped", "flagged", "failed")
    for (direction, kind), counts in sorted(report.counts.by_direction.items()):
        table.add_row(
            f"{kind.value}s {ARROWS[direction]}",
            *(
                str(n)
                for n in (
                    counts.seen,
                    counts.created,
                    counts.updated,
                    counts.skipped,
                    counts.flagged,
                    counts.failed,
                )
            ),
        )
    console.print(table)
    if report.diff is not None:
        creates = {side: report.diff.count(side, ItemAction.CREATE) for side in Side}
        console.print(
            f"dry run, nothing written: would create {creates[Side.B]} on B and "
            f"{creates[Side.A]} on A"
        )
        for planned in report.diff.sample:
            console.print(
                f"  {planned.action.value} on {planned.target.upper()}: {planned.label}",
                highlight=False,
            )
    for error in report.errors[:20]:
        errors.print(
            f"  {error.get('item', '')} {error.get('result', '')}: {error.get('error', '')}",
            highlight=False,
        )
    console.print(f"run {report.status}" + (f" (run {report.run_id})" if report.run_id else ""))
