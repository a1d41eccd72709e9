"""`ticketbridge emulate autotask`: serve the shipped Autotask REST API emulator."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from starlette.applications import Starlette

from ticketbridge.emulators.autotask import (
    DEMO_API_SECRET,
    DEMO_API_USER,
    DEMO_INTEGRATION_CODE,
    ApiUser,
    create_app,
)
from ticketbridge.emulators.autotask.auth import default_users
from ticketbridge.emulators.jira import DEMO_API_TOKEN as JIRA_DEMO_TOKEN
from ticketbridge.emulators.jira import DEMO_EMAIL as JIRA_DEMO_EMAIL
from ticketbridge.emulators.jira import DEMO_PAT as JIRA_DEMO_PAT
from ticketbridge.emulators.jira import create_app as create_jira_app

app = typer.Typer(help="Sandbox emulators of the PSA APIs.", no_args_is_help=True)


def build_autotask_app(
    *,
    seed: str = "demo",
    state: Path | None = None,
    speed: float = 1.0,
    api_user: str = DEMO_API_USER,
    api_secret: str = DEMO_API_SECRET,
    integration_code: str = DEMO_INTEGRATION_CODE,
    auto_deliver: bool = True,
    public_url: str | None = None,
) -> Starlette:
    users = [u for u in default_users() if u.username.lower() != api_user.lower()]
    main = ApiUser(api_user, api_secret, integration_code)
    others = [
        ApiUser(u.username, u.secret, integration_code, u.resource_id, u.denied) for u in users
    ]
    return create_app(
        seed=seed,
        state_file=state,
        speed=speed,
        api_users=[main, *others],
        auto_deliver=auto_deliver,
        public_url=public_url,
    )


def default_public_url(host: str, port: int) -> str | None:
    """The URL zone discovery gives out when --public-url is not set.

    The address we listen on, unless that is a wildcard (0.0.0.0, ::): then each connection's
    own local address (the emulator's default), since no single address is right for every
    client. Never the client's Host header.
    """
    if host in {"", "0.0.0.0", "::", "[::]"}:
        return None
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"http://{shown}:{port}"


@app.command("autotask")
def autotask(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8765,
    seed: Annotated[str, typer.Option(help="Initial data: demo or empty.")] = "demo",
    state: Annotated[
        Path | None, typer.Option(help="JSON file that keeps the state across restarts.")
    ] = None,
    speed: Annotated[
        float, typer.Option(help="Divides throttling delays and callout retry intervals.")
    ] = 1.0,
    api_user: Annotated[str, typer.Option(help="API user name.")] = DEMO_API_USER,
    api_secret: Annotated[str, typer.Option(help="API user secret.")] = DEMO_API_SECRET,
    integration_code: Annotated[
        str, typer.Option(help="API tracking identifier (integration code).")
    ] = DEMO_INTEGRATION_CODE,
    public_url: Annotated[
        str | None,
        typer.Option(
            help="Base URL clients reach the emulator at, given out by zone discovery and in "
            "next-page URLs (e.g. https://autotask-sandbox.example). Default: "
            "http://HOST:PORT."
        ),
    ] = None,
) -> None:
    """Serve the Autotask REST API emulator (real paths under /atservicesrest/v1.0/)."""
    if seed not in {"demo", "empty"}:
        raise typer.BadParameter("seed must be demo or empty", param_hint="--seed")
    if speed <= 0:
        raise typer.BadParameter("speed must be positive", param_hint="--speed")
    try:
        application = build_autotask_app(
            seed=seed,
            state=state,
            speed=speed,
            api_user=api_user,
            api_secret=api_secret,
            integration_code=integration_code,
            public_url=public_url or default_public_url(host, port),
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--public-url") from None
    typer.echo(
        f"Autotask emulator on http://{host}:{port}/ (zone discovery: "
        f"/atservicesrest/v1.0/zoneInformation?user={api_user}; admin: /_emulator/)"
    )
    uvicorn.run(application, host=host, port=port, log_level="warning")


@app.command("jira")
def jira(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8766,
    mode: Annotated[str, typer.Option(help="cloud (API token basic auth) or dc (PAT).")] = "cloud",
    seed: Annotated[str, typer.Option(help="Initial data: demo or empty.")] = "demo",
    state: Annotated[
        Path | None, typer.Option(help="JSON file that keeps the state across restarts.")
    ] = None,
    public_url: Annotated[
        str | None, typer.Option(help="Base URL in self links. Default: http://HOST:PORT.")
    ] = None,
) -> None:
    """Serve the Jira REST API emulator (/rest/api/2 and /3, /rest/servicedeskapi)."""
    if mode not in {"cloud", "dc"}:
        raise typer.BadParameter("mode must be cloud or dc", param_hint="--mode")
    if seed not in {"demo", "empty"}:
        raise typer.BadParameter("seed must be demo or empty", param_hint="--seed")
    application = create_jira_app(
        mode=mode,
        seed=seed,
        state_file=state,
        public_url=public_url or default_public_url(host, port),
        auto_deliver=True,
    )
    login = (
        f"basic auth {JIRA_DEMO_EMAIL} / {JIRA_DEMO_TOKEN}"
        if mode == "cloud"
        else f"bearer {JIRA_DEMO_PAT}"
    )
    typer.echo(f"Jira emulator ({mode}) on http://{host}:{port}/ ({login}; admin: /_emulator/)")
    uvicorn.run(application, host=host, port=port, log_level="warning")
