"""Browser sign-ins, kept server-side.

The browser holds a random session id and nothing else about its user; the database keeps the
id's SHA-256, the user, and when the sign-in ends. A sign-in ends at its absolute expiry however
busy it is, and at once when the user signs out, their password, role or active flag changes
(services.accounts does that through ``end_user_sessions``): a copied cookie is then worthless.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from ticketbridge.storage.models import User
from ticketbridge.storage.models.accounts import UserSession

# last_seen_at is informational: writing it on every request would make every page a write.
LAST_SEEN_RESOLUTION = timedelta(minutes=1)
# token_urlsafe(32) gives 43 characters; anything much longer is not one of ours.
_MAX_ID_LENGTH = 128


class EndReason:
    LOGOUT = "logout"
    PASSWORD = "password"
    ROLE = "role"
    DEACTIVATED = "deactivated"


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("ascii")).hexdigest()


def _well_formed(session_id: object) -> bool:
    return (
        isinstance(session_id, str)
        and 0 < len(session_id) <= _MAX_ID_LENGTH
        and session_id.isascii()
        and session_id.isprintable()
    )


def start(session: Session, user: User, *, now: datetime, lifetime: timedelta) -> str:
    """Open a sign-in for ``user`` and return the id to hand to the browser (shown only here).
    The user's ended and expired sign-ins are cleared out on the way."""
    session.execute(
        delete(UserSession).where(
            UserSession.user_id == user.id,
            or_(UserSession.revoked_at.is_not(None), UserSession.expires_at <= now),
        )
    )
    session_id = secrets.token_urlsafe(32)
    session.add(
        UserSession(
            token_hash=_digest(session_id),
            user_id=user.id,
            created_at=now,
            expires_at=now + lifetime,
            last_seen_at=now,
        )
    )
    session.flush()
    return session_id


def resolve(
    session: Session, session_id: object, *, now: datetime
) -> tuple[UserSession, User] | None:
    """The live sign-in and its user for this id, or None when it is unknown, ended, expired,
    or its user was deactivated."""
    if not _well_formed(session_id):
        return None
    assert isinstance(session_id, str)
    row = session.scalar(select(UserSession).where(UserSession.token_hash == _digest(session_id)))
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    if now - row.last_seen_at >= LAST_SEEN_RESOLUTION:
        row.last_seen_at = now
    return row, user


def end(session: Session, session_id: object, *, now: datetime) -> User | None:
    """Sign this browser out; returns whose sign-in it was, if it was live."""
    found = resolve(session, session_id, now=now)
    if found is None:
        return None
    row, user = found
    row.revoked_at = now
    row.revoked_reason = EndReason.LOGOUT
    return user


def end_user_sessions(
    session: Session, user_id: int, *, now: datetime, reason: str, keep: int | None = None
) -> int:
    """End every live sign-in of the user except ``keep`` (the one making the change, when the
    user changes their own password); returns how many ended."""
    statement = (
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
        .execution_options(synchronize_session=False)
    )
    if keep is not None:
        statement = statement.where(UserSession.id != keep)
    result = session.execute(statement)
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
