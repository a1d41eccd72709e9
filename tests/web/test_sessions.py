"""Browser sign-ins (issue 10, item 4): a session lives server-side, ends on sign-out and on a
password, role or active change, ends at its absolute lifetime however busy, and its cookie
tells nothing about the user. Served over real HTTP, where cookies are kept as a browser
keeps them."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import NOW, PASSWORD, add_user
from tests.services.tickets.support import Clock
from tests.web.live_server import form_token, serve, sign_in
from ticketbridge.core.roles import Role
from ticketbridge.services.accounts import users as accounts
from ticketbridge.settings import Settings
from ticketbridge.storage.models import AuditEvent, User
from ticketbridge.storage.models.accounts import UserSession
from ticketbridge.web.app import create_app

COOKIE = "ticketbridge_session"
LIFETIME_S = 3600


@pytest.fixture
def clock() -> Clock:
    return Clock(now=NOW)


@pytest.fixture
def base_url(
    settings: Settings, engine: Engine, db: sessionmaker[Session], clock: Clock
) -> Iterator[str]:
    made = settings.model_copy(update={"session_max_age_seconds": LIFETIME_S})
    with serve(create_app(made, engine=engine, clock=clock)) as url:
        yield url


def signed_in(client: httpx.Client) -> bool:
    answer = client.get("/")
    assert answer.status_code in (200, 303), answer.status_code
    return answer.status_code == 200


def with_cookie(base_url: str, value: str) -> httpx.Client:
    client = httpx.Client(base_url=base_url, timeout=30)
    client.cookies.set(COOKIE, value)
    return client


def post_form(client: httpx.Client, page: str, path: str, **fields: Any) -> httpx.Response:
    token = form_token(client.get(page).text)
    return client.post(path, data={"csrf_token": token, **fields})


def user_id(db: sessionmaker[Session], username: str) -> int:
    with db() as session:
        user = accounts.find_user(session, username)
        assert user is not None
        return user.id


def test_a_cookie_copied_before_logout_is_refused_after_it(
    base_url: str, db: sessionmaker[Session]
) -> None:
    add_user(db, "alice", Role.OPERATOR)
    browser = sign_in(base_url, "alice")
    copy = with_cookie(base_url, browser.cookies[COOKIE])
    assert signed_in(copy)

    post_form(browser, "/", "/logout")

    assert not signed_in(browser)
    assert not signed_in(copy)
    with db() as session:
        ended = session.scalars(select(UserSession)).one()
        assert ended.revoked_reason == "logout"
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
        assert actions == ["auth.login", "auth.logout"]


def test_a_password_change_by_an_admin_ends_every_session_of_that_user(
    base_url: str, db: sessionmaker[Session]
) -> None:
    add_user(db, "admin", Role.ADMIN)
    add_user(db, "bob", Role.OPERATOR)
    laptop, phone = sign_in(base_url, "bob"), sign_in(base_url, "bob")
    admin = sign_in(base_url, "admin")

    post_form(
        admin,
        "/admin/users",
        f"/admin/users/{user_id(db, 'bob')}",
        role="operator",
        active="true",
        password="a-new-long-password",
    )

    assert not signed_in(laptop) and not signed_in(phone)
    assert signed_in(admin)
    assert signed_in(sign_in(base_url, "bob", "a-new-long-password"))


def test_changing_your_own_password_keeps_this_browser_and_ends_the_others(
    base_url: str, db: sessionmaker[Session]
) -> None:
    add_user(db, "admin", Role.ADMIN)
    here, elsewhere = sign_in(base_url, "admin"), sign_in(base_url, "admin")

    post_form(
        here,
        "/admin/users",
        f"/admin/users/{user_id(db, 'admin')}",
        role="admin",
        active="true",
        password="a-new-long-password",
    )

    assert signed_in(here)
    assert not signed_in(elsewhere)


def test_a_password_set_from_the_command_line_ends_the_users_sessions(
    base_url: str, db: sessionmaker[Session]
) -> None:
    add_user(db, "carol", Role.OPERATOR)
    browser = sign_in(base_url, "carol")

    with db() as session:  # what `ticketbridge user set-password` does
        user = accounts.find_user(session, "carol")
        assert user is not None
        accounts.set_password(user, "a-new-long-password")
        session.commit()

    assert not signed_in(browser)


def test_a_role_change_ends_the_users_sessions(base_url: str, db: sessionmaker[Session]) -> None:
    add_user(db, "admin", Role.ADMIN)
    add_user(db, "dave", Role.OPERATOR)
    dave = sign_in(base_url, "dave")
    admin = sign_in(base_url, "admin")

    post_form(
        admin, "/admin/users", f"/admin/users/{user_id(db, 'dave')}", role="viewer", active="true"
    )

    assert not signed_in(dave)
    again = sign_in(base_url, "dave")
    assert "(viewer)" in again.get("/").text


def test_deactivation_ends_the_users_sessions_and_sign_in_is_refused(
    base_url: str, db: sessionmaker[Session]
) -> None:
    add_user(db, "admin", Role.ADMIN)
    add_user(db, "erin", Role.OPERATOR)
    erin = sign_in(base_url, "erin")
    admin = sign_in(base_url, "admin")

    post_form(admin, "/admin/users", f"/admin/users/{user_id(db, 'erin')}", role="operator")

    assert not signed_in(erin)
    with db() as session:
        ended = select(UserSession.revoked_reason).where(UserSession.user_id == user_id(db, "erin"))
        assert session.scalars(ended).all() == ["deactivated"]
    retry = httpx.Client(base_url=base_url)
    token = form_token(retry.get("/login").text)
    refused = retry.post(
        "/login", data={"username": "erin", "password": PASSWORD, "csrf_token": token}
    )
    assert refused.status_code == 401


def test_saving_a_user_unchanged_leaves_their_sessions_alone(
    base_url: str, db: sessionmaker[Session]
) -> None:
    add_user(db, "admin", Role.ADMIN)
    add_user(db, "frank", Role.OPERATOR)
    frank = sign_in(base_url, "frank")
    admin = sign_in(base_url, "admin")

    post_form(
        admin,
        "/admin/users",
        f"/admin/users/{user_id(db, 'frank')}",
        role="operator",
        active="true",
    )

    assert signed_in(frank)


def test_the_absolute_lifetime_ends_a_session_even_when_used_continuously(
    base_url: str, db: sessionmaker[Session], clock: Clock
) -> None:
    add_user(db, "grace", Role.OPERATOR)
    browser = sign_in(base_url, "grace")

    for _ in range(LIFETIME_S // 600 - 1):  # a page every ten minutes
        clock.advance(minutes=10)
        assert signed_in(browser)
    clock.advance(minutes=10)  # the lifetime, counted from sign-in

    assert not signed_in(browser)
    assert signed_in(sign_in(base_url, "grace"))


def test_the_session_cookie_holds_nothing_about_the_user(
    base_url: str, db: sessionmaker[Session]
) -> None:
    add_user(db, "heidi", Role.OPERATOR)
    browser = sign_in(base_url, "heidi")
    browser.get("/")  # a page puts its form token in the session too
    value = browser.cookies[COOKIE]

    # Starlette's cookie: base64(JSON) "." timestamp "." signature; signed, not encrypted.
    payload = value.split(".")[0]
    content = json.loads(base64.b64decode(payload + "=" * (-len(payload) % 4)))

    assert set(content) <= {"sid", "csrf"}
    with db() as session:
        user = accounts.find_user(session, "heidi")
        assert user is not None
        row = session.scalars(select(UserSession)).one()
        visible = json.dumps(content)
        assert "heidi" not in visible.lower()
        assert str(user.id) not in [str(v) for v in content.values()]
        for piece in (user.password_hash[-16:], user.password_hash.split("$")[-1][:16]):
            assert piece not in value and piece not in visible
        # Only a hash of the id is stored: a copy of the table signs nobody in.
        assert row.token_hash != content["sid"] and content["sid"] not in row.token_hash


def test_the_session_cookie_is_http_only_same_site_and_secure_when_configured(
    settings: Settings, engine: Engine, db: sessionmaker[Session]
) -> None:
    add_user(db, "ivan", Role.OPERATOR)

    def attributes(answer: httpx.Response) -> list[str]:
        return [part.strip().lower() for part in answer.headers["set-cookie"].split(";")[1:]]

    for secure in (False, True):
        app = create_app(settings.model_copy(update={"cookie_secure": secure}), engine=engine)
        with serve(app) as url:
            client = httpx.Client(base_url=url)
            page = client.get("/login")
            answers = [page]
            if not secure:  # over plain HTTP a client rightly keeps a Secure cookie to itself
                answers.append(
                    client.post(
                        "/login",
                        data={
                            "username": "ivan",
                            "password": PASSWORD,
                            "csrf_token": form_token(page.text),
                        },
                    )
                )
        for answer in answers:
            assert "httponly" in attributes(answer) and "samesite=lax" in attributes(answer)
            assert ("secure" in attributes(answer)) is secure


def test_each_sign_in_gets_a_new_session_id_and_the_old_form_token_goes(
    base_url: str, db: sessionmaker[Session]
) -> None:
    add_user(db, "judy", Role.OPERATOR)
    browser = httpx.Client(base_url=base_url)
    before = form_token(browser.get("/login").text)
    answer = browser.post(
        "/login", data={"username": "judy", "password": PASSWORD, "csrf_token": before}
    )
    assert answer.status_code == 303
    first = browser.cookies[COOKIE]

    after = form_token(browser.get("/").text)
    second = sign_in(base_url, "judy").cookies[COOKIE]

    assert after != before
    assert first.split(".")[0] != second.split(".")[0]
    stale = browser.post("/logout", data={"csrf_token": before})
    assert stale.status_code == 400 and signed_in(browser)


def test_ended_and_expired_sessions_are_cleared_out_at_the_next_sign_in(
    base_url: str, db: sessionmaker[Session], clock: Clock
) -> None:
    add_user(db, "ken", Role.OPERATOR)
    post_form(sign_in(base_url, "ken"), "/", "/logout")
    sign_in(base_url, "ken")
    clock.advance(seconds=LIFETIME_S)

    sign_in(base_url, "ken")

    with db() as session:
        rows = session.scalars(select(UserSession)).all()
        assert len(rows) == 1 and rows[0].revoked_at is None
        assert rows[0].expires_at == clock.now + timedelta(seconds=LIFETIME_S)
        assert session.scalar(select(User.last_login_at)) == clock.now


def test_a_new_api_token_never_travels_readable_in_the_session_cookie(
    base_url: str, db: sessionmaker[Session]
) -> None:
    add_user(db, "admin", Role.ADMIN)
    admin = sign_in(base_url, "admin")

    created = post_form(admin, "/admin/tokens", "/admin/tokens", name="rmm", role="operator")
    shown = admin.get("/admin/tokens").text

    value = shown.split('<code id="new-token">')[1].split("</code>")[0]
    assert value.startswith("tb_")
    cookie = created.cookies[COOKIE]
    payload = cookie.split(".")[0]
    content = base64.b64decode(payload + "=" * (-len(payload) % 4)).decode()
    secret = value.split("_", 2)[2]
    assert secret not in content and secret not in cookie
