"""`ticketbridge emulate autotask|jira|graph`: serve the shipped sandbox emulators."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

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
from ticketbridge.emulators.graph import (
    DEMO_CLIENT_ID as GRAPH_DEMO_CLIENT_ID,
)
from ticketbridge.emulators.graph import (
    DEMO_CLIENT_SECRET as GRAPH_DEMO_CLIENT_SECRET,
)
from ticketbridge.emulators.graph import (
    DEMO_MAILBOX as GRAPH_DEMO_MAILBOX,
)
from ticketbridge.emulators.graph import (
    DEMO_TENANT_DOMAIN as GRAPH_DEMO_TENANT_DOMAIN,
)
from ticketbridge.emulators.graph import (
    DEMO_TENANT_ID as GRAPH_DEMO_TENANT_ID,
)
from ticketbridge.emulators.graph import create_app as create_graph_app
from ticketbridge.emulators.graph.tls import DEFAULT_NAMES, self_signed
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
    _serve(application, host, port)


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
    _serve(application, host, port)


def _serve(application: Any, host: str, port: int) -> None:
    # Info for uvicorn's start lines (a person and a test see it is up), no access log.
    uvicorn.run(application, host=host, port=port, log_level="info", access_log=False)


def _tls_files(
    host: str, tls_cert: Path | None, tls_key: Path | None, self_signed_dir: Path | None
) -> tuple[Path, Path] | None:
    """The certificate and key to serve with, making them under --self-signed DIR if needed."""
    if self_signed_dir is not None and (tls_cert or tls_key):
        raise typer.BadParameter(
            "give either --self-signed or --tls-cert/--tls-key", param_hint="--self-signed"
        )
    if (tls_cert is None) != (tls_key is None):
        raise typer.BadParameter("--tls-cert and --tls-key go together", param_hint="--tls-key")
    if tls_cert is not None and tls_key is not None:
        return tls_cert, tls_key
    if self_signed_dir is None:
        return None
    names = list(DEFAULT_NAMES)
    if host not in {"", "0.0.0.0", "::", "[::]"}:
        names.append(host)
    files, made = self_signed(self_signed_dir, names)
    typer.echo(
        f"{'Made' if made else 'Using'} a sandbox CA: trust {files.ca} "
        f"(msal through requests: REQUESTS_CA_BUNDLE={files.ca})"
    )
    return files.cert, files.key


@app.command("graph")
def graph(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8767,
    seed: Annotated[
        str, typer.Option(help="demo (a first mail in the service desk) or empty.")
    ] = "demo",
    tls_cert: Annotated[
        Path | None, typer.Option(help="PEM server certificate (with --tls-key).")
    ] = None,
    tls_key: Annotated[Path | None, typer.Option(help="PEM private key of --tls-cert.")] = None,
    self_signed_dir: Annotated[
        Path | None,
        typer.Option(
            "--self-signed",
            help="Directory for a sandbox CA and a server certificate signed by it (made when "
            "missing, reused after): ca.pem, server.pem, server-key.pem.",
        ),
    ] = None,
    public_url: Annotated[
        str | None,
        typer.Option(help="Base URL in discovery documents and links. Default: the served one."),
    ] = None,
) -> None:
    """Serve the Microsoft Graph mail emulator with its Entra ID token endpoints (msal needs
    https: use --self-signed DIR or --tls-cert/--tls-key)."""
    if seed not in {"demo", "empty"}:
        raise typer.BadParameter("seed must be demo or empty", param_hint="--seed")
    tls = _tls_files(host, tls_cert, tls_key, self_signed_dir)
    scheme = "https" if tls else "http"
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    base = (public_url or f"{scheme}://{shown}:{port}").rstrip("/")
    application = create_graph_app(tokens=(), seed=seed, public_url=public_url)
    typer.echo(
        f"Graph emulator on {base}/v1.0/ (admin: /_emulator/; device sign-in: /devicelogin)\n"
        f"  authority     {base}/{GRAPH_DEMO_TENANT_ID}  (or /{GRAPH_DEMO_TENANT_DOMAIN}; "
        "msal: instance_discovery=False)\n"
        f"  client id     {GRAPH_DEMO_CLIENT_ID}\n"
        f"  client secret {GRAPH_DEMO_CLIENT_SECRET}\n"
        f"  mailbox       {GRAPH_DEMO_MAILBOX}"
    )
    if tls is None:
        typer.echo("Plain http: msal refuses a non-https authority; Graph calls still work.")
    uvicorn.run(
        application,
        host=host,
        port=port,
        # Info for uvicorn's start lines (a person and a test see it is up), no access log.
        log_level="info",
        access_log=False,
        ssl_certfile=str(tls[0]) if tls else None,
        ssl_keyfile=str(tls[1]) if tls else None,
    )
