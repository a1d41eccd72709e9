"""The `ticketbridge` command. Each group lives in its own module and is registered here."""

from __future__ import annotations

import typer

from ticketbridge.cli import accounts, backup, emulate, mail, mailbox, runs, server, sync

app = typer.Typer(
    name="ticketbridge",
    help="Backup and monitoring signals to PSA tickets, exactly once.",
    no_args_is_help=True,
    add_completion=False,
)
app.command("serve")(server.serve)
app.command("worker")(server.worker)
app.command("demo")(server.demo_command)
app.add_typer(server.db, name="db")
app.add_typer(accounts.users, name="user")
app.add_typer(accounts.tokens, name="token")
app.add_typer(runs.app, name="runs")
app.add_typer(emulate.app, name="emulate")
app.add_typer(mail.app, name="mail")
app.add_typer(backup.app, name="backup")
app.add_typer(mailbox.app, name="mailbox")
app.add_typer(sync.app, name="sync")
