"""What every command needs: settings, a migrated database, and friendly errors."""

from __future__ import annotations

import typer
from rich.console import Console

from ticketbridge.services.runtime import Runtime, build_runtime
from ticketbridge.settings import InsecureSecretKey, Settings, get_settings
from ticketbridge.storage.db import private_dir
from ticketbridge.storage.migrate import upgrade

console = Console()
errors = Console(stderr=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    errors.print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(code)


def open_runtime(settings: Settings | None = None, *, migrate: bool = True) -> Runtime:
    settings = settings or get_settings()
    if not settings.database_url:
        private_dir(settings.var_dir)
    if migrate:
        upgrade(settings.effective_database_url)
    try:
        return build_runtime(settings)
    except InsecureSecretKey as exc:
        raise fail(str(exc)) from exc
