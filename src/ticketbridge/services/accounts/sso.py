"""Single sign-on through OpenID Connect: start a sign-in, finish it, and find (or create) the
user behind the ID token.

A user is found by the token's issuer and subject (``user_identities``), never by email. The
role comes from the provider's group mapping at every sign-in, so a change of groups at the
issuer takes effect at the next one (and, as any role change does, ends the user's other
sign-ins); an identity an admin linked with a role keeps that role. Groups that map to no role,
a deactivated user, or an unknown identity where the provider creates no users are refused and
audited as ``auth.sso_login`` with the reason.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from ticketbridge.connectors import oidc
from ticketbridge.connectors.errors import ConnectorError
from ticketbridge.core.roles import Role
from ticketbridge.core.sso import GroupsOmitted, mapped_role, username_candidates
from ticketbridge.services.accounts import users as accounts
from ticketbridge.services.system import audit
from ticketbridge.settings import OidcProvider
from ticketbridge.storage.models import User, UserIdentity

# Never a valid argon2 hash: a user created by single sign-on has no password until an admin
# sets one (verification of this fails like a wrong password).
NO_PASSWORD = "!single-sign-on"
AUDIT_ACTION = "auth.sso_login"


class SsoError(Exception):
    """The sign-in did not happen; the message is safe to show."""


class SsoRefused(SsoError):
    """The identity was proven but may not sign in; the page shows who it was, so the person
    can ask an admin to map their group or link them."""

    def __init__(self, message: str, *, issuer: str, subject: str) -> None:
        super().__init__(message)
        self.issuer = issuer
        self.subject = subject


def client(provider: OidcProvider) -> oidc.Client:
    secret = provider.client_secret.get_secret_value() if provider.client_secret else None
    return oidc.Client(provider.discovery_url, provider.client_id, secret, provider.scopes)


def start(
    provider: OidcProvider, redirect_uri: str, transport: httpx.BaseTransport | None = None
) -> oidc.AuthRequest:
    try:
        return oidc.start(client(provider), redirect_uri, transport)
    except ConnectorError as exc:
        raise SsoError(f"{provider.label} cannot be reached for sign-in: {exc}") from exc


def finish(
    provider: OidcProvider,
    redirect_uri: str,
    *,
    code: str,
    code_verifier: str,
    nonce: str,
    now: datetime,
    transport: httpx.BaseTransport | None = None,
) -> dict[str, Any]:
    """The validated ID token claims for this code."""
    try:
        return oidc.finish(
            client(provider),
            redirect_uri,
            code=code,
            code_verifier=code_verifier,
            nonce=nonce,
            now=int(now.timestamp()),
            transport=transport,
        )
    except ConnectorError as exc:
        raise SsoError(f"Sign-in with {provider.label} failed: {exc}") from exc


def issuer_of(provider: OidcProvider, transport: httpx.BaseTransport | None = None) -> str:
    try:
        return oidc.metadata(client(provider), transport).issuer
    except ConnectorError as exc:
        raise SsoError(f"{provider.label}'s discovery document cannot be read: {exc}") from exc


def record_failure(session: Session, provider: OidcProvider, reason: str, client: str) -> None:
    """A sign-in that failed before anyone was identified (bad state, refused token)."""
    audit.record(
        session,
        actor=f"sso:{provider.name}",
        action=AUDIT_ACTION,
        outcome="failed",
        details={"provider": provider.name, "reason": reason[:300], "client": client},
    )


def sign_in(
    session: Session, provider: OidcProvider, claims: dict[str, Any], *, now: datetime, client: str
) -> User:
    """The user these validated claims sign in, with their role refreshed; raises SsoRefused
    (after auditing it) when they may not sign in."""
    issuer, subject = str(claims["iss"]), str(claims["sub"])
    identity = session.scalar(
        select(UserIdentity).where(UserIdentity.issuer == issuer, UserIdentity.subject == subject)
    )
    details = {"provider": provider.name, "issuer": issuer, "subject": subject, "client": client}

    def refuse(message: str) -> SsoRefused:
        audit.record(
            session,
            actor=f"sso:{provider.name}:{subject}"[:150],
            action=AUDIT_ACTION,
            outcome="refused",
            details={**details, "reason": message},
        )
        return SsoRefused(message, issuer=issuer, subject=subject)

    try:
        role = (
            Role(identity.fixed_role)
            if identity is not None and identity.fixed_role
            else mapped_role(claims, provider.groups_claim, provider.role_mapping)
        )
    except GroupsOmitted as exc:
        raise refuse(f"Your role cannot be told: {exc}.") from exc
    if role is None:
        raise refuse(
            f"None of your groups at {provider.label} gives a role in ticketbridge. "
            "Ask an administrator to map one of your groups."
        )
    email = claims.get("email") if isinstance(claims.get("email"), str) else None
    if identity is None:
        if not provider.create_users:
            raise refuse(
                f"No ticketbridge account is linked to your {provider.label} identity. "
                "Ask an administrator to link it."
            )
        user = _create_user(session, claims, provider, role)
        identity = UserIdentity(
            user_id=user.id, provider=provider.name, issuer=issuer, subject=subject, created_at=now
        )
        session.add(identity)
        created = True
    else:
        found = session.get(User, identity.user_id)
        if found is None or not found.active:
            raise refuse("Your ticketbridge account is deactivated.")
        user, created = found, False
        if user.role != role.value:
            accounts.update_user(user, role=role, active=True, now=now)
    identity.email = email[:320] if email else None
    identity.last_login_at = now
    user.last_login_at = now
    audit.record(
        session,
        actor=user.username,
        action=AUDIT_ACTION,
        outcome="ok",
        details={**details, "role": role.value, "created": created},
    )
    session.flush()
    return user


def _create_user(
    session: Session, claims: dict[str, Any], provider: OidcProvider, role: Role
) -> User:
    candidates = username_candidates(claims, provider.label)
    digest = hashlib.sha256(f"{claims['iss']} {claims['sub']}".encode()).hexdigest()[:8]
    candidates.append(f"{candidates[0]} {digest}")
    username = next((c for c in candidates if accounts.find_user(session, c) is None), None)
    if username is None:
        raise SsoError("no free username for this identity; ask an administrator to link it")
    return _new_user(session, username, role)


def _new_user(session: Session, username: str, role: Role) -> User:
    """A user without a password: they sign in through their identity provider only."""
    user = User(
        username=username,
        username_key=username.lower(),
        password_hash=NO_PASSWORD,
        role=role.value,
        active=True,
    )
    session.add(user)
    session.flush()
    return user


def link(
    session: Session,
    provider: OidcProvider,
    *,
    issuer: str,
    subject: str,
    username: str,
    role: Role | None,
) -> tuple[User, UserIdentity]:
    """Link an identity to a user by hand (`ticketbridge user link-sso`), creating the user
    without a password when it does not exist (``role`` is then required). With a role, the
    identity keeps it at every sign-in whatever its groups: this is how the first admin gets
    in when no group is mapped yet."""
    taken = session.scalar(
        select(UserIdentity).where(UserIdentity.issuer == issuer, UserIdentity.subject == subject)
    )
    if taken is not None:
        owner = session.get(User, taken.user_id)
        raise SsoError(f"this identity is linked to {owner.username if owner else '?'} already")
    user = accounts.find_user(session, username)
    if user is None:
        if role is None:
            raise SsoError(f"no user named {username!r}; give --role to create one")
        if not username.strip() or len(username.strip()) > 150:
            raise SsoError("a username of 1 to 150 characters is required")
        user = _new_user(session, username.strip(), role)
    elif role is not None and user.role != role.value:
        accounts.update_user(user, role=role, active=user.active)
    identity = UserIdentity(
        user_id=user.id,
        provider=provider.name,
        issuer=issuer,
        subject=subject,
        fixed_role=role.value if role else None,
    )
    session.add(identity)
    session.flush()
    return user, identity
