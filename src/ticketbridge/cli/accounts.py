"""`ticketbridge user ...` and `ticketbridge token ...`."""

from __future__ import annotations

import sys

import typer
from sqlalchemy import select

from ticketbridge.cli.common import console, fail, open_runtime
from ticketbridge.core.roles import Role
from ticketbridge.services.accounts import sso
from ticketbridge.services.accounts import users as accounts
from ticketbridge.services.system import audit
from ticketbridge.storage.db import session_scope
from ticketbridge.storage.models import ApiToken, User

users = typer.Typer(help="Manage users.", no_args_is_help=True)
tokens = typer.Typer(help="Manage API tokens.", no_args_is_help=True)
CLI_ACTOR = "cli"


def _password(password: str | None, stdin: bool) -> str:
    if stdin:
        return sys.stdin.readline().rstrip("\n")
    if password is not None:
        return password
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@users.command("create")
def create_user(
    username: str = typer.Option(..., "--username", "-u"),
    role: Role = typer.Option(Role.OPERATOR, "--role", "-r"),
    password: str | None = typer.Option(None, help="Prefer --password-stdin or the prompt."),
    password_stdin: bool = typer.Option(False, "--password-stdin"),
) -> None:
    runtime = open_runtime()
    try:
        with session_scope(runtime.session_factory) as session:
            user = accounts.create_user(
                session, username, _password(password, password_stdin), role
            )
            audit.record(
                session,
                actor=CLI_ACTOR,
                action="user.create",
                subject=f"user {username}",
                details={"role": role.value},
            )
    except accounts.AccountError as exc:
        raise fail(f"{exc.field}: {exc}") from exc
    console.print(f"created user {user.username} ({role.value})")


@users.command("set-password")
def set_password(
    username: str = typer.Option(..., "--username", "-u"),
    password: str | None = typer.Option(None),
    password_stdin: bool = typer.Option(False, "--password-stdin"),
) -> None:
    runtime = open_runtime()
    with session_scope(runtime.session_factory) as session:
        user = accounts.find_user(session, username)
        if user is None:
            raise fail(f"no user named {username!r}")
        try:
            accounts.set_password(user, _password(password, password_stdin))
        except accounts.AccountError as exc:
            raise fail(f"{exc.field}: {exc}") from exc
        audit.record(
            session, actor=CLI_ACTOR, action="user.set_password", subject=f"user {username}"
        )
    console.print(f"password of {username} changed")


@users.command("list")
def list_users() -> None:
    runtime = open_runtime()
    with runtime.session_factory() as session:
        for user in session.scalars(select(User).order_by(User.username_key)):
            state = "active" if user.active else "inactive"
            last = user.last_login_at.isoformat() if user.last_login_at else "never"
            typer.echo(f"{user.username}\t{user.role}\t{state}\tlast login {last}")


@users.command("link-sso")
def link_sso(
    username: str = typer.Option(..., "--username", "-u"),
    provider_name: str = typer.Option(..., "--provider", "-p", help="a configured provider's name"),
    subject: str = typer.Option(..., "--subject", "-s", help="the ID token's sub claim"),
    role: Role | None = typer.Option(
        None, "--role", "-r", help="kept at every sign-in whatever the groups; creates the user"
    ),
    issuer: str | None = typer.Option(
        None, help="the issuer as in the ID token; read from the discovery document if omitted"
    ),
) -> None:
    """Link a single sign-on identity (issuer and subject) to a user, for instance the first
    admin before any group is mapped. The refusal page shows a person their subject."""
    runtime = open_runtime()
    provider = runtime.settings.oidc_provider(provider_name)
    if provider is None:
        known = ", ".join(p.name for p in runtime.settings.oidc_providers) or "none"
        raise fail(f"no provider named {provider_name!r} (configured: {known})")
    try:
        issuer = issuer or sso.issuer_of(provider)
        with session_scope(runtime.session_factory) as session:
            user, _ = sso.link(
                session, provider, issuer=issuer, subject=subject, username=username, role=role
            )
            audit.record(
                session,
                actor=CLI_ACTOR,
                action="user.link_sso",
                subject=f"user {user.username}",
                details={
                    "provider": provider.name,
                    "issuer": issuer,
                    "subject": subject,
                    "role": role.value if role else None,
                },
            )
    except sso.SsoError as exc:
        raise fail(str(exc)) from exc
    kept = f" with the role {role.value} kept at every sign-in" if role else ""
    console.print(f"linked {provider.label} subject {subject} to {user.username}{kept}")


@tokens.command("create")
def create_token(
    name: str = typer.Option(..., "--name", "-n"),
    role: Role = typer.Option(..., "--role", "-r"),
) -> None:
    """Create a token. The token is printed alone on the last line, once; only its hash is kept."""
    runtime = open_runtime()
    try:
        with session_scope(runtime.session_factory) as session:
            token, plaintext = accounts.create_token(session, name, role, created_by=None)
            audit.record(
                session,
                actor=CLI_ACTOR,
                action="token.create",
                subject=f"token {name}",
                details={"role": role.value},
            )
    except accounts.AccountError as exc:
        raise fail(f"{exc.field}: {exc}") from exc
    console.print(f"created token {token.name} ({role.value}); it is shown only now:")
    print(plaintext)


@tokens.command("revoke")
def revoke_token(name: str = typer.Option(..., "--name", "-n")) -> None:
    runtime = open_runtime()
    with session_scope(runtime.session_factory) as session:
        found = session.scalars(
            select(ApiToken).where(ApiToken.name == name, ApiToken.revoked_at.is_(None))
        ).all()
        if not found:
            raise fail(f"no active token named {name!r}")
        for token in found:
            accounts.revoke_token(token)
        audit.record(session, actor=CLI_ACTOR, action="token.revoke", subject=f"token {name}")
    console.print(f"revoked {len(found)} token(s) named {name}")
