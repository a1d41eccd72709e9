"""Users, passwords, login throttling and API tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from ticketbridge.core.roles import Role
from ticketbridge.storage.models import ApiToken, User, utcnow

_hasher = PasswordHasher()
# Verifying against this when the user does not exist keeps the answer time the same, so that
# timing does not reveal which usernames exist.
_DUMMY_HASH = _hasher.hash("ticketbridge-dummy-password")
MIN_PASSWORD_LENGTH = 10
TOKEN_PREFIX = "tb"
LAST_USED_RESOLUTION = timedelta(minutes=1)


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

    @property
    def actor(self) -> str:
        return self.name if self.kind == "user" else f"token:{self.name}"


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError("password", f"use at least {MIN_PASSWORD_LENGTH} characters")


def find_user(session: Session, username: str) -> User | None:
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


def set_password(user: User, password: str) -> None:
    _check_password(password)
    user.password_hash = _hasher.hash(password)
    user.failed_logins = 0
    user.locked_until = None


class LoginThrottled(Exception):
    def __init__(self, until: datetime) -> None:
        super().__init__("too many failed logins; try again later")
        self.until = until


def authenticate(
    session: Session,
    username: str,
    password: str,
    *,
    max_failures: int,
    lockout: timedelta,
    now: datetime | None = None,
) -> User | None:
    """The user for these credentials, or None. Raises LoginThrottled while locked out."""
    now = now or utcnow()
    user = find_user(session, username)
    if user is None:
        _verify(_DUMMY_HASH, password)
        return None
    if user.locked_until is not None and user.locked_until > now:
        raise LoginThrottled(user.locked_until)
    if not _verify(user.password_hash, password) or not user.active:
        user.failed_logins += 1
        if user.failed_logins >= max_failures:
            user.locked_until = now + lockout
            user.failed_logins = 0
        return None
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def _verify(password_hash: str, password: str) -> bool:
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
    parts = plaintext.split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        return None
    token = session.scalar(select(ApiToken).where(ApiToken.prefix == parts[1]))
    if token is None or token.revoked_at is not None:
        return None
    if not hmac.compare_digest(token.secret_hash, _hash_secret(parts[2])):
        return None
    now = now or utcnow()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        token.last_used_at = now
    return token


def revoke_token(token: ApiToken, now: datetime | None = None) -> None:
    if token.revoked_at is None:
        token.revoked_at = now or utcnow()
