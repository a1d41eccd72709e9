"""Sign-in (issue 10, item 5): unknown and known usernames get the same answers at the same
cost, failures make one (username, client address) pair wait longer and longer instead of
locking the account for everyone, and both kinds of attempt are audited alike."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from tests.factories import NOW, PASSWORD, add_user, csrf_of
from tests.services.tickets.support import Clock
from ticketbridge.core.roles import Role
from ticketbridge.services.accounts import users as accounts
from ticketbridge.settings import Settings
from ticketbridge.storage.models import AuditEvent
from ticketbridge.web.app import create_app

MAX_FAILURES = 3
LONGEST_WAIT_S = 8
HOME = "198.51.100.7"
ELSEWHERE = "203.0.113.9"


class CountingHasher(PasswordHasher):
    """Cheap argon2 that counts verifications: the cost of an attempt, without timing it."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.verified = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        self.verified += 1
        return super().verify(hash, password)


@pytest.fixture
def hasher(monkeypatch: pytest.MonkeyPatch) -> CountingHasher:
    counting = CountingHasher()
    monkeypatch.setattr(accounts, "_hasher", counting)
    return counting


@pytest.fixture
def clock() -> Clock:
    return Clock(now=NOW)


@pytest.fixture
def app(settings: Settings, engine: Engine, db: sessionmaker[Session], clock: Clock) -> FastAPI:
    made = settings.model_copy(
        update={"login_max_failures": MAX_FAILURES, "login_lockout_seconds": LONGEST_WAIT_S}
    )
    return create_app(made, engine=engine, clock=clock)


@pytest.fixture
def browsers(app: FastAPI) -> Iterator[dict[str, TestClient]]:
    """One browser per client address."""
    made = {
        address: TestClient(app, client=(address, 50000), follow_redirects=False)
        for address in (HOME, ELSEWHERE)
    }
    yield made
    for browser in made.values():
        browser.close()


def attempt(browser: TestClient, username: str, password: str) -> Any:
    token = csrf_of(browser.get("/login").text)
    return browser.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )


def test_unknown_and_known_users_get_the_same_answers(
    browsers: dict[str, TestClient], db: sessionmaker[Session]
) -> None:
    add_user(db, "alice", Role.OPERATOR)
    browser = browsers[HOME]

    for _ in range(MAX_FAILURES):
        known = attempt(browser, "alice", "wrong-password!")
        unknown = attempt(browser, "mallory", "wrong-password!")
        assert known.status_code == unknown.status_code == 401
        assert known.text.replace("alice", "X") == unknown.text.replace("mallory", "X")
    known, unknown = (attempt(browser, name, "wrong-password!") for name in ("alice", "mallory"))

    assert known.status_code == unknown.status_code == 429
    assert known.headers["retry-after"] == unknown.headers["retry-after"] == "1"
    assert known.text.replace("alice", "X") == unknown.text.replace("mallory", "X")


def test_an_unknown_user_costs_a_password_verification_like_a_known_one(
    browsers: dict[str, TestClient], db: sessionmaker[Session], hasher: CountingHasher
) -> None:
    add_user(db, "bob", Role.OPERATOR)
    costs = {}
    for name, username, password in (
        ("unknown user", "nobody", "wrong-password!"),
        ("wrong password", "bob", "wrong-password!"),
        ("right password", "bob", PASSWORD),
    ):
        before = hasher.verified
        attempt(browsers[HOME], username, password)
        costs[name] = hasher.verified - before

    assert costs == {"unknown user": 1, "wrong password": 1, "right password": 1}


def test_a_deactivated_user_is_answered_like_an_unknown_one(
    browsers: dict[str, TestClient], db: sessionmaker[Session]
) -> None:
    add_user(db, "carol", Role.OPERATOR)
    with db() as session:
        user = accounts.find_user(session, "carol")
        assert user is not None
        user.active = False
        session.commit()

    inactive = attempt(browsers[HOME], "carol", PASSWORD)
    unknown = attempt(browsers[HOME], "nobody", PASSWORD)

    assert inactive.status_code == unknown.status_code == 401
    assert inactive.text.replace("carol", "X") == unknown.text.replace("nobody", "X")


def test_failures_from_one_address_do_not_hold_back_the_user_at_another(
    browsers: dict[str, TestClient], db: sessionmaker[Session]
) -> None:
    add_user(db, "dave", Role.OPERATOR)
    for _ in range(MAX_FAILURES + 2):
        attempt(browsers[HOME], "dave", "someone-guessing")

    assert attempt(browsers[HOME], "dave", PASSWORD).status_code == 429
    assert attempt(browsers[ELSEWHERE], "dave", PASSWORD).status_code == 303


def test_failures_for_one_username_do_not_hold_back_another_from_the_same_address(
    browsers: dict[str, TestClient], db: sessionmaker[Session]
) -> None:
    add_user(db, "erin", Role.OPERATOR)
    for _ in range(MAX_FAILURES + 1):
        attempt(browsers[HOME], "frank", "wrong-password!")

    assert attempt(browsers[HOME], "erin", PASSWORD).status_code == 303


def test_failures_past_the_limit_double_the_pairs_wait_up_to_the_longest(
    browsers: dict[str, TestClient], db: sessionmaker[Session], clock: Clock
) -> None:
    add_user(db, "grace", Role.OPERATOR)
    browser = browsers[HOME]
    for _ in range(MAX_FAILURES):
        assert attempt(browser, "grace", "wrong-password!").status_code == 401
    waits = []
    for _ in range(5):
        refused = attempt(browser, "grace", PASSWORD)  # even the right password must wait
        assert refused.status_code == 429
        wait = int(refused.headers["retry-after"])
        waits.append(wait)
        clock.advance(seconds=wait - 1)
        assert attempt(browser, "grace", PASSWORD).status_code == 429
        clock.advance(seconds=1)
        assert attempt(browser, "grace", "wrong-password!").status_code == 401

    assert waits == [1, 2, 4, 8, 8]
    clock.advance(seconds=LONGEST_WAIT_S)
    assert attempt(browser, "grace", PASSWORD).status_code == 303
    # A success starts the count afresh.
    assert attempt(browser, "grace", "wrong-password!").status_code == 401


def test_failed_and_throttled_sign_ins_are_audited_alike_for_known_and_unknown_users(
    browsers: dict[str, TestClient], db: sessionmaker[Session]
) -> None:
    add_user(db, "heidi", Role.OPERATOR)
    for _ in range(MAX_FAILURES + 1):
        attempt(browsers[HOME], "heidi", "wrong-password!")
        attempt(browsers[HOME], "nobody", "wrong-password!")
    attempt(browsers[ELSEWHERE], "heidi", PASSWORD)

    with db() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "auth.login").order_by(AuditEvent.id)
        ).all()
    trail = [(e.actor, e.outcome, e.subject, e.details) for e in events]

    expected_failures = ["failed"] * MAX_FAILURES + ["throttled"]
    for name in ("heidi", "nobody"):
        mine = [t for t in trail if t[0] == name and t[3]["client"] == HOME]
        assert [t[1] for t in mine] == expected_failures
        assert {(t[2], tuple(t[3])) for t in mine} == {("", ("client",))}
    assert trail[-1] == ("heidi", "ok", "", {"client": ELSEWHERE})


def test_a_username_with_a_nul_character_is_refused_like_any_unknown_one(
    browsers: dict[str, TestClient], db: sessionmaker[Session]
) -> None:
    answer = attempt(browsers[HOME], "ali\x00ce", "wrong-password!")

    assert answer.status_code == 401
