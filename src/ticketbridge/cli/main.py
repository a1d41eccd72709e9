"""The `ticketbridge` command. Each group lives in its own module and is registered here."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="ticketbridge",
    help="Backup and monitoring signals to PSA tickets, exactly once.",
    no_args_is_help=True,
    add_completion=False,
)
