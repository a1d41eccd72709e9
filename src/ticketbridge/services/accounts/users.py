"""Users, passwords, sign-in and API tokens."""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from ticketbridge.core.roles import Role
from ticketbridge.services.accounts import login_throttle
from ticketbridge.services.accounts import sessions as user_sessions
from ticketbridge.services.accounts.login_throttle import ThrottlePolicy
from ticketbridge.services.accounts.sessions import EndReason
from ticketbridge.storage.models import ApiToken, User, utcnow

_hasher = PasswordHasher()
# Verifying against this when the user does not exist keeps the answer time the same, so that
# timing does not reveal which usernames exist. It is made by the hasher in use (tests swap in
# a cheap one), so that checking it costs what checking a real user's hash costs.
_dummy: tuple[PasswordHasher, str] = (_hasher, _hasher.hash("ticketbridge-dummy-password"))
MIN_PASSWORD_LENGTH = 10
TOKEN_PREFIX = "tb"
LAST_USED_RESOLUTION = timedelta(minutes=1)
# What create_token hands out ("tb_" + 12 hex + "_" + 43 URL-safe characters), a little
# loosely; anything else is refused before it reaches a query or a hash.
_TOKEN_SHAPE = re.compile(r"tb_([0-9a-f]{1,16})_([A-Za-z0-9_-]{1,128})")


class AccountError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Principal:
    """Whoever is calling: a signed-in user or an API token."""

    kind: str  # "user" | "token"
    id: int
    name: str
    role: Role
    # The browser sign-in (user_sessions row) this request came with, for users.
    session_id: int | None = None

    @property
    def actor(self) -> str:
        return self.name if self.kind == "user" else f"token:{self.name}"


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError("password", f"use at least {MIN_PASSWORD_LENGTH} characters")


def find_user(session: Session, username: str) -> User | None:
    if "\x00" in username:  # no username holds one, and PostgreSQL refuses it in a query
        return None
    return session.scalar(select(User).where(User.username_key == username.strip().lower()))


def create_user(session: Session, username: str, password: str, role: Role) -> User:
    username = username.strip()
    if not username or len(username) > 150:
        raise AccountError("username", "a username of 1 to 150 characters is required")
    if find_user(session, username) is not None:
        raise AccountError("username", f"a user named {username!r} exists already")
    _check_password(password)
    user = User(
        username=username,
        username_key=username.lower(),
        password_hash=_hasher.hash(password),
        role=Role(role).value,
        active=True,
    )
    session.add(user)
    session.flush()
    return user


def set_password(
    user: User, password: str, *, now: datetime | None = None, keep_session: int | None = None
) -> None:
    """Change the password and end the user's sign-ins, except ``keep_session`` (the browser
    of a user changing their own password)."""
    _check_password(password)
    user.password_hash = _hasher.hash(password)
    _end_sessions(user, EndReason.PASSWORD, now, keep_session)


def update_user(
    user: User,
    *,
    role: Role,
    active: bool,
    password: str = "",
    now: datetime | None = None,
    keep_session: int | None = None,
) -> dict[str, object]:
    """Change role, active flag and (when given) password; a new role or a deactivation ends
    every sign-in of the user, a new password every one but ``keep_session``. Returns the
    changes, for the audit trail."""
    if password:
        set_password(user, password, now=now, keep_session=keep_session)
    changes: dict[str, object] = {
        "role": [user.role, Role(role).value],
        "active": [user.active, active],
        "password_changed": bool(password),
    }
    if user.role != Role(role).value:
        user.role = Role(role).value
        _end_sessions(user, EndReason.ROLE, now, None)
    if user.active and not active:
        _end_sessions(user, EndReason.DEACTIVATED, now, None)
    user.active = active
    return changes


def _end_sessions(user: User, reason: str, now: datetime | None, keep: int | None) -> None:
    session = object_session(user)
    if session is None or user.id is None:
        return  # a user not stored yet has no sign-ins
    user_sessions.end_user_sessions(session, user.id, now=now or utcnow(), reason=reason, keep=keep)


class LoginThrottled(Exception):
    """Too many failed sign-ins for this username from this address: wait, then try again."""

    def __init__(self, until: datetime, now: datetime) -> None:
        super().__init__("too many failed logins; try again later")
        self.until = until
        self.retry_after = max(1, math.ceil((until - now).total_seconds()))


def authenticate(
    session: Session,
    username: str,
    password: str,
    *,
    client: str,
    policy: ThrottlePolicy,
    now: datetime | None = None,
) -> User | None:
    """The user for these credentials, or None. Raises LoginThrottled while this username
    must wait at this client address.

    Unknown usernames, inactive users and wrong passwords all cost one password verification
    and count one failure for the (username, client) pair, so neither the answer, nor its
    timing, nor the throttle tells which usernames exist."""
    now = now or utcnow()
    until = login_throttle.blocked_until(session, username, client, now=now)
    if until is not None:
        raise LoginThrottled(until, now)
    user = find_user(session, username)
    verified = _verify(user.password_hash if user else _dummy_hash(), password)
    if user is None or not verified or not user.active:
        login_throttle.record_failure(session, username, client, now=now, policy=policy)
        return None
    login_throttle.clear(session, username, client)
    user.last_login_at = now
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def _dummy_hash() -> str:
    global _dummy
    if _dummy[0] is not _hasher:
        _dummy = (_hasher, _hasher.hash("ticketbridge-dummy-password"))
    return _dummy[1]


# argon2 takes 64 MiB and about 0.2 s of a core per check by design: a flood of sign-ins must
# queue for a few of them rather than take the server's memory and every core.
_CHECKS_AT_ONCE = threading.BoundedSemaphore(2)


def _verify(password_hash: str, password: str) -> bool:
    with _CHECKS_AT_ONCE:
        try:
            return _hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False


def _hash_secret(secret: str) -> str:
    # Tokens carry 256 bits of randomness, so a fast hash is safe here and keeps every API call
    # cheap; argon2 is for low-entropy human passwords.
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def create_token(
    session: Session, name: str, role: Role, created_by: int | None
) -> tuple[ApiToken, str]:
    """Create a token; the plaintext is returned once and never stored."""
    name = name.strip()
    if not name:
        raise AccountError("name", "a token name is required")
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    token = ApiToken(
        name=name,
        role=Role(role).value,
        prefix=prefix,
        secret_hash=_hash_secret(secret),
        created_by_id=created_by,
    )
    session.add(token)
    session.flush()
    return token, f"{TOKEN_PREFIX}_{prefix}_{secret}"


def authenticate_token(
    session: Session, plaintext: str, now: datetime | None = None
) -> ApiToken | None:
    """The live token for this plaintext, or None. Anything that is not shaped like one of our
    tokens (other characters, another length) is refused before any look-up."""
    shape = _TOKEN_SHAPE.fullmatch(plaintext)
    if shape is None:
        return None
    prefix, secret = shape.groups()
    token = session.scalar(select(ApiToken).where(ApiToken.prefix == prefix))
    if token is None or token.revoked_at is not None:
        return None
    if not hmac.compare_digest(token.secret_hash, _hash_secret(secret)):
        return None
    now = now or utcnow()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        token.last_used_at = now
    return token


def revoke_token(token: ApiToken, now: datetime | None = None) -> None:
    if token.revoked_at is None:
        token.revoked_at = now or utcnow()
