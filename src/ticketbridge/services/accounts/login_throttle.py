"""Sign-in throttling per (username, client address).

Failures are counted for the pair, whether the username exists or not, so that the answers
are the same for both. After ``max_failures`` failures in a row the pair waits 1 s before its
next attempt, and each further failure doubles the wait (2 s, 4 s, ... up to
``longest_wait``). Nobody else is held back: the same user signing in from another address is
not affected, so a stranger cannot lock an account by failing on purpose.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ticketbridge.storage.models.accounts import LoginThrottle

# A pair's failures are forgotten after a day without a new one.
MEMORY = timedelta(days=1)
_FIRST_WAIT = timedelta(seconds=1)
_MAX_CLIENT_LENGTH = 64


@dataclass(frozen=True)
class ThrottlePolicy:
    max_failures: int
    longest_wait: timedelta

    def wait_after(self, failures: int) -> timedelta:
        """How long the pair must wait after its ``failures``-th failure in a row."""
        extra = failures - self.max_failures
        if extra < 0:
            return timedelta(0)
        if extra >= 32:  # far past any sensible cap; keeps the power small
            return self.longest_wait
        return min(self.longest_wait, _FIRST_WAIT * (2**extra))


def pair_key(username: str, client: str) -> tuple[str, str]:
    # NUL cannot be stored in PostgreSQL text; such a name can belong to nobody anyway.
    key = username.strip().lower().replace("\x00", "\ufffd")
    return key[:150], client[:_MAX_CLIENT_LENGTH]


def blocked_until(
    session: Session, username: str, client: str, *, now: datetime
) -> datetime | None:
    """When the pair may try again, if it has to wait."""
    row = session.get(LoginThrottle, pair_key(username, client))
    if row is None or row.blocked_until is None or row.blocked_until <= now:
        return None
    return row.blocked_until


def record_failure(
    session: Session, username: str, client: str, *, now: datetime, policy: ThrottlePolicy
) -> None:
    key, address = pair_key(username, client)
    session.execute(delete(LoginThrottle).where(LoginThrottle.last_failure_at < now - MEMORY))
    count = _increment(session, key, address, now)
    if count is None:
        try:
            with session.begin_nested():
                session.add(
                    LoginThrottle(username_key=key, client=address, failures=1, last_failure_at=now)
                )
            count = 1
        except IntegrityError:  # a concurrent failure of the same pair inserted it first
            count = _increment(session, key, address, now) or 1
    wait = policy.wait_after(count)
    if wait:
        session.execute(
            update(LoginThrottle)
            .where(LoginThrottle.username_key == key, LoginThrottle.client == address)
            .values(blocked_until=now + wait)
            .execution_options(synchronize_session=False)
        )


def _increment(session: Session, key: str, address: str, now: datetime) -> int | None:
    """Count one more failure for the pair in one statement, so that concurrent failures
    are all counted; None when the pair has no row yet."""
    return session.execute(
        update(LoginThrottle)
        .where(LoginThrottle.username_key == key, LoginThrottle.client == address)
        .values(failures=LoginThrottle.failures + 1, last_failure_at=now)
        .returning(LoginThrottle.failures)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()


def clear(session: Session, username: str, client: str) -> None:
    key, address = pair_key(username, client)
    session.execute(
        delete(LoginThrottle).where(
            LoginThrottle.username_key == key, LoginThrottle.client == address
        )
    )
