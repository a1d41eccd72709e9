"""`ticketbridge serve`, `worker`, `demo` and `db upgrade`."""

from __future__ import annotations

import fcntl
import gc
import os
import secrets
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

import typer
import uvicorn

from ticketbridge.cli import demo_psa, logs
from ticketbridge.cli.common import console, fail, open_runtime
from ticketbridge.connectors import metrics
from ticketbridge.core.roles import Role
from ticketbridge.services.accounts import users as accounts
from ticketbridge.services.demo import data as demo
from ticketbridge.services.demo import mail as demo_mail
from ticketbridge.services.mail import idle as mail_idle
from ticketbridge.services.mail import smtp as mail_smtp
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.system import audit
from ticketbridge.settings import Settings, get_settings
from ticketbridge.storage.db import private_dir, session_scope
from ticketbridge.storage.migrate import upgrade
from ticketbridge.web.app import create_app
from ticketbridge.web.metrics import metrics_app
from ticketbridge.worker.runner import InProcessRunner, ProcrastinateRunner

db = typer.Typer(help="Database maintenance.", no_args_is_help=True)
DEMO_ADMIN = "admin"
EMULATOR_PORT_FILE = "emulator-port"
JIRA_PORT_FILE = "emulator-jira-port"


def _background(settings: Settings) -> Any:
    if settings.effective_worker_mode != "inprocess":
        return None  # `ticketbridge worker` processes run the jobs
    return lambda runtime: InProcessRunner(runtime).start()


def _serve(runtime: Runtime, host: str, port: int, workers: int = 1) -> None:
    if workers > 1:
        _serve_workers(runtime, host, port, workers)
        return
    stop_metrics = _start_metrics_server(runtime)
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
    try:
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_level=runtime.settings.log_level.lower(),
            log_config=logs.uvicorn_config(runtime.settings),
        )
    finally:
        stop_metrics()


def _serve_workers(runtime: Runtime, host: str, port: int, workers: int) -> None:
    """Several uvicorn worker processes, each building the app from the settings. The mail
    watchers (IMAP IDLE, SMTP receivers) and the metrics port run once, in this process;
    background jobs need procrastinate workers. The workers' metrics meet in one multiprocess
    directory, which prometheus-client must find in the environment when a process starts."""
    settings = runtime.settings
    if settings.effective_worker_mode != "procrastinate":
        raise fail(
            "--workers above 1 needs TICKETBRIDGE_WORKER_MODE=procrastinate (PostgreSQL): "
            "in-process jobs would run once in every worker"
        )
    if settings.metrics_multiproc_dir is None:
        directory = settings.var_dir / "metrics"
        private_dir(directory)
        for stale in directory.glob("*.db"):  # figures of processes that are gone
            stale.unlink()
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
        settings = settings.model_copy(update={"metrics_multiproc_dir": directory})
        runtime.settings = settings
    watchers = mail_idle.with_watchers(mail_smtp.with_receivers(None))(runtime)
    stop_metrics = _start_metrics_server(runtime)
    try:
        uvicorn.run(
            "ticketbridge.web.asgi:create",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=settings.log_level.lower(),
            log_config=logs.uvicorn_config(settings),
        )
    finally:
        stop_metrics()
        watchers.stop()  # type: ignore[attr-defined]


def _start_metrics_server(runtime: Runtime) -> Callable[[], None]:
    """Serve /metrics on TICKETBRIDGE_METRICS_PORT in a thread, when set; returns its stop."""
    settings = runtime.settings
    if settings.metrics_port is None:
        return lambda: None
    server = uvicorn.Server(
        uvicorn.Config(
            metrics_app(runtime),
            host=settings.metrics_host,
            port=settings.metrics_port,
            log_config=None,  # the process's logging is configured already
            access_log=False,
        )
    )
    thread = threading.Thread(target=server.run, name="tb-metrics", daemon=True)
    thread.start()

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=10)

    return stop


def serve(
    host: str | None = typer.Option(None, help="Default: TICKETBRIDGE_HOST or 127.0.0.1"),
    port: int | None = typer.Option(None, help="Default: TICKETBRIDGE_PORT or 8000"),
    workers: int = typer.Option(
        1, min=1, help="uvicorn worker processes; above 1 needs procrastinate workers"
    ),
) -> None:
    """Serve the UI and the API (and, on the embedded default, run background jobs)."""
    settings = get_settings()
    logs.configure(settings)
    runtime = open_runtime(settings)
    _serve(runtime, host or settings.host, port or settings.port, workers)


def worker(concurrency: int = typer.Option(2, min=1)) -> None:
    """Run procrastinate workers (PostgreSQL). Start as many as you like, on any machine."""
    settings = get_settings()
    logs.configure(settings)
    runtime = open_runtime(settings)
    if not runtime.settings.uses_postgresql:
        raise fail(
            "workers need PostgreSQL; with SQLite, `ticketbridge serve` runs the jobs itself"
        )
    runner = ProcrastinateRunner(runtime)
    stop_metrics = _start_metrics_server(runtime)  # a worker on a host of its own
    console.print(f"worker started (concurrency {concurrency}); Ctrl+C stops it")
    try:
        runner.work(concurrency=concurrency)
    finally:
        stop_metrics()
        metrics.process_ended(runtime.settings.metrics_multiproc_dir)


@dataclass
class Demo:
    """A demo ready to serve: its runtime, where its UI will be and its own emulator."""

    runtime: Runtime
    url: str
    password: str
    emulator_url: str | None = None
    emulator: uvicorn.Server | None = None
    emulator_thread: threading.Thread | None = None
    jira_url: str | None = None
    jira: uvicorn.Server | None = None
    jira_thread: threading.Thread | None = None
    lock: TextIO | None = None

    def stop(self) -> None:
        """Stop the emulator and let another demo use the var dir (tests; the CLI just exits)."""
        for server in (self.emulator, self.jira):
            if server is not None:
                server.should_exit = True
        for thread in (self.emulator_thread, self.jira_thread):
            if thread is not None:
                thread.join(timeout=10)
        self.runtime.engine.dispose()
        if self.lock is not None:
            self.lock.close()


def _lock_var_dir(settings: Settings) -> TextIO:
    """One demo per var dir: two would share one database and one emulator state file, and
    whichever connected last would have both UIs talking to its emulator."""
    private_dir(settings.var_dir)
    handle = (settings.var_dir / "demo.lock").open("w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise fail(
            f"another demo is running on {settings.var_dir}; give a second demo its own "
            "TICKETBRIDGE_VAR_DIR and port (--port or TICKETBRIDGE_PORT)"
        ) from None
    return handle


def _check_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise fail(
                f"cannot listen on {host}:{port} ({exc.strerror}); another demo or service "
                "may have it: choose another with --port"
            ) from None


def _bind_emulator(
    settings: Settings, port: int, port_file: str = EMULATOR_PORT_FILE
) -> socket.socket:
    """A listening loopback socket for this demo's emulator: on ``port`` when given; else on
    the port this var dir's emulator had last time when it is still free (tickets keep their
    addresses across restarts), else on one the system chooses. Two demos never share one."""
    remembered = settings.var_dir / port_file
    wanted = [port] if port else []
    if not port and remembered.is_file():
        text = remembered.read_text().strip()
        wanted += [int(text)] if text.isdigit() and 0 < int(text) < 65536 else []
    wanted.append(0)
    for candidate in wanted:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind(("127.0.0.1", candidate))
        except OSError as exc:
            sock.close()
            if candidate == port:
                raise fail(f"the emulator cannot listen on port {port} ({exc.strerror})") from None
            continue
        sock.listen(128)
        remembered.write_text(f"{sock.getsockname()[1]}\n")
        return sock
    raise AssertionError("port 0 always binds")


def _serve_emulator(
    app: Any, sock: socket.socket, name: str
) -> tuple[str, uvicorn.Server, threading.Thread]:
    # Bound before the server starts: requests queue in the backlog until it accepts, so the
    # product can talk to it right away and no other process can take the port meanwhile.
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=name, daemon=True)
    thread.start()
    return f"http://127.0.0.1:{sock.getsockname()[1]}", server, thread


def _start_emulator(
    settings: Settings, port: int = 0
) -> tuple[str, uvicorn.Server, threading.Thread]:
    """Serve this demo's own Autotask emulator on loopback (see :func:`_bind_emulator`)."""
    from ticketbridge.emulators.autotask import create_app as create_emulator

    sock = _bind_emulator(settings, port)
    app = create_emulator(
        seed="demo",
        state_file=settings.var_dir / "emulator-autotask.json",
        public_url=f"http://127.0.0.1:{sock.getsockname()[1]}",
        auto_deliver=True,
    )
    return _serve_emulator(app, sock, "autotask-emulator")


def _start_jira_emulator(settings: Settings) -> tuple[str, uvicorn.Server, threading.Thread]:
    """Serve this demo's own Jira Cloud emulator on loopback, beside the Autotask one."""
    from ticketbridge.emulators.jira import create_app as create_jira

    sock = _bind_emulator(settings, 0, JIRA_PORT_FILE)
    app = create_jira(
        seed="demo",
        state_file=settings.var_dir / "emulator-jira.json",
        public_url=f"http://127.0.0.1:{sock.getsockname()[1]}",
    )
    return _serve_emulator(app, sock, "jira-emulator")


def start_demo(settings: Settings, *, emulator_port: int | None = 0) -> Demo:
    """Everything `ticketbridge demo` does before serving: the database and demo data, the
    admin sign-in, and (unless ``emulator_port`` is None) an emulator of its own, connected."""
    lock = _lock_var_dir(settings)
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
    found = Demo(runtime, f"http://{settings.host}:{settings.port}", password, lock=lock)
    if emulator_port is not None:
        found.emulator_url, found.emulator, found.emulator_thread = _start_emulator(
            settings, emulator_port
        )
        console.print(f"Autotask emulator on {found.emulator_url}")
        demo_psa.connect_autotask(runtime, found.emulator_url, found.url)
        found.jira_url, found.jira, found.jira_thread = _start_jira_emulator(settings)
        console.print(f"Jira emulator on {found.jira_url}")
        demo_psa.connect_jira(runtime, found.jira_url, found.url)
    return found


def demo_command(
    no_emulator: bool = typer.Option(False, "--no-emulator", help="Do not start the emulator"),
    port: int | None = typer.Option(None, help="UI port. Default: TICKETBRIDGE_PORT or 8000"),
    emulator_port: int = typer.Option(
        0,
        min=0,
        max=65535,
        help="The emulator's port. 0 (default): the one it had last time if free, else a free one",
    ),
) -> None:
    """Migrate an SQLite database under ./var/, seed demo data and serve the UI.

    TICKETBRIDGE_PORT sets the port; TICKETBRIDGE_DEMO_PASSWORD sets the admin password
    (otherwise one is generated and printed). A second demo next to the first needs its own
    TICKETBRIDGE_VAR_DIR and port; each gets its own emulator.
    """
    base = get_settings()
    settings = base.model_copy(update={"demo_mode": True, "port": port or base.port})
    _check_port_free(settings.host, settings.port)
    started = start_demo(settings, emulator_port=None if no_emulator else emulator_port)
    console.print(f"\nticketbridge demo on [bold]{started.url}[/bold]")
    console.print(
        f"sign in as [bold]{DEMO_ADMIN}[/bold] with password [bold]{started.password}[/bold]\n"
    )
    _serve(started.runtime, settings.host, settings.port)


@db.command("upgrade")
def db_upgrade(revision: str = typer.Argument("heads")) -> None:
    """Apply migrations (the embedded SQLite database is created when missing)."""
    settings = get_settings()
    if not settings.database_url:
        private_dir(settings.var_dir)
    upgrade(settings.effective_database_url, revision)
    console.print(f"database at {revision}")
