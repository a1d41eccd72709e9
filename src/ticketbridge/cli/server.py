"""`ticketbridge serve`, `worker`, `demo` and `db upgrade`."""

from __future__ import annotations

import gc
import secrets
import threading
import time
from typing import Any

import typer
import uvicorn

from ticketbridge.cli.common import console, fail, open_runtime
from ticketbridge.connectors.errors import ConnectorError
from ticketbridge.core.roles import Role
from ticketbridge.services import (
    accounts,
    audit,
    autotask_setup,
    demo,
    demo_mail,
    mail_idle,
    mail_smtp,
)
from ticketbridge.services.autotask_connection import IntegrationUnavailable
from ticketbridge.services.runtime import Runtime
from ticketbridge.settings import Settings, get_settings
from ticketbridge.storage.db import private_dir, session_scope
from ticketbridge.storage.migrate import upgrade
from ticketbridge.web.app import create_app
from ticketbridge.worker.runner import InProcessRunner, ProcrastinateRunner

db = typer.Typer(help="Database maintenance.", no_args_is_help=True)
DEMO_ADMIN = "admin"
EMULATOR_PORT = 8765


def _background(settings: Settings) -> Any:
    if settings.effective_worker_mode != "inprocess":
        return None  # `ticketbridge worker` processes run the jobs
    return lambda runtime: InProcessRunner(runtime).start()


def _serve(runtime: Runtime, host: str, port: int) -> None:
    app = create_app(
        runtime.settings,
        engine=runtime.engine,
        # SMTP sources listen and IMAP sources IDLE inside `serve`, next to the in-process worker.
        background=mail_idle.with_watchers(mail_smtp.with_receivers(_background(runtime.settings))),
    )
    # Everything built so far lives as long as the process: keeping it out of the collector's
    # full passes removes ~200 ms pauses from page requests.
    gc.collect()
    gc.freeze()
    uvicorn.run(app, host=host, port=port, log_level=runtime.settings.log_level.lower())


def serve(
    host: str | None = typer.Option(None, help="Default: TICKETBRIDGE_HOST or 127.0.0.1"),
    port: int | None = typer.Option(None, help="Default: TICKETBRIDGE_PORT or 8000"),
) -> None:
    """Serve the UI and the API (and, on the embedded default, run background jobs)."""
    runtime = open_runtime()
    settings = runtime.settings
    _serve(runtime, host or settings.host, port or settings.port)


def worker(concurrency: int = typer.Option(2, min=1)) -> None:
    """Run procrastinate workers (PostgreSQL). Start as many as you like, on any machine."""
    runtime = open_runtime()
    if not runtime.settings.uses_postgresql:
        raise fail(
            "workers need PostgreSQL; with SQLite, `ticketbridge serve` runs the jobs itself"
        )
    runner = ProcrastinateRunner(runtime)
    console.print(f"worker started (concurrency {concurrency}); Ctrl+C stops it")
    runner.work(concurrency=concurrency)


def _start_emulator(settings: Settings) -> str:
    from ticketbridge.emulators.autotask import create_app as create_emulator

    state = settings.var_dir / "emulator-autotask.json"
    app = create_emulator(seed="demo", state_file=state)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=EMULATOR_PORT, log_level="warning")
    )
    threading.Thread(target=server.run, name="autotask-emulator", daemon=True).start()
    for _ in range(200):  # up to 10 s: the product talks to it right away
        if server.started:
            break
        time.sleep(0.05)
    return f"http://127.0.0.1:{EMULATOR_PORT}"


def _connect_autotask(runtime: Runtime, emulator_url: str, ui_url: str) -> None:
    """Point the product's Autotask settings at the demo emulator and load its lists."""
    from ticketbridge.emulators import autotask as emulator

    try:
        done = autotask_setup.connect(
            runtime,
            api_host=emulator_url,
            username=emulator.DEMO_API_USER,
            secret=emulator.DEMO_API_SECRET,
            integration_code=emulator.DEMO_INTEGRATION_CODE,
            base_url=ui_url,
            actor="demo",
        )
    except (ConnectorError, IntegrationUnavailable) as exc:
        console.print(f"[yellow]Autotask not connected: {exc.message}[/yellow]")
        return
    loaded = ", ".join(f"{count} {name}" for name, count in sorted(done.counts.items()))
    console.print(f"Autotask connected to the emulator ({loaded})")


def demo_command(
    no_emulator: bool = typer.Option(False, "--no-emulator", help="Do not start the emulator"),
) -> None:
    """Migrate an SQLite database under ./var/, seed demo data and serve the UI.

    TICKETBRIDGE_PORT sets the port; TICKETBRIDGE_DEMO_PASSWORD sets the admin password
    (otherwise one is generated and printed).
    """
    base = get_settings()
    settings = base.model_copy(update={"demo_mode": True})
    runtime = open_runtime(settings)
    password = (
        settings.demo_password.get_secret_value()
        if settings.demo_password
        else secrets.token_urlsafe(12)
    )
    with session_scope(runtime.session_factory) as session:
        user = accounts.find_user(session, DEMO_ADMIN)
        if user is None:
            accounts.create_user(session, DEMO_ADMIN, password, Role.ADMIN)
        else:
            accounts.set_password(user, password)
            user.active = True
        created = demo.seed(session, runtime.clock())
        created += demo_mail.seed(session, runtime.clock())  # sample mails: Inbox and runs
        if created:
            audit.record(session, actor="demo", action="demo.seed", details={"runs": created})
    console.print(f"demo data ready ({created} new runs)")
    url = f"http://{settings.host}:{settings.port}"
    if not no_emulator:
        emulator_url = _start_emulator(settings)
        console.print(f"Autotask emulator on {emulator_url}")
        _connect_autotask(runtime, emulator_url, url)
    console.print(f"\nticketbridge demo on [bold]{url}[/bold]")
    console.print(f"sign in as [bold]{DEMO_ADMIN}[/bold] with password [bold]{password}[/bold]\n")
    _serve(runtime, settings.host, settings.port)


@db.command("upgrade")
def db_upgrade(revision: str = typer.Argument("heads")) -> None:
    """Apply migrations (the embedded SQLite database is created when missing)."""
    settings = get_settings()
    if not settings.database_url:
        private_dir(settings.var_dir)
    upgrade(settings.effective_database_url, revision)
    console.print(f"database at {revision}")
