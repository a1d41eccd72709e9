"""Single sign-on over real HTTP: the app and a test OpenID Connect issuer, each on uvicorn on a
loopback port, and a client that follows the redirects as a browser would."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from joserfc.jwk import RSAKey
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import PASSWORD, add_user
from tests.fakes.oidc_provider import CLIENT_SECRET, FakeIssuer
from tests.web.live_server import form_token
from tests.web.sso_support import LABEL, served_app, served_issuer, sso_settings
from ticketbridge.core.roles import Role
from ticketbridge.services.accounts import sso
from ticketbridge.services.accounts import users as accounts
from ticketbridge.storage.models import AuditEvent, User, UserIdentity


@pytest.fixture(scope="module")
def served() -> Iterator[FakeIssuer]:
    """One issuer, its RSA key and its uvicorn server for the whole module: generating the
    key and starting a server in every test cost most of the module's time."""
    with served_issuer() as made:
        yield made


@pytest.fixture
def issuer(served: FakeIssuer) -> FakeIssuer:
    """The module's issuer as a fresh one: no user, overrides or grants left by other tests."""
    served.reset()
    return served


@pytest.fixture
def app_url(
    tmp_path: Path,
    database_url: str,
    engine: Engine,
    db: sessionmaker[Session],
    issuer: FakeIssuer,
) -> Iterator[str]:
    with served_app(sso_settings(tmp_path, database_url, issuer), engine) as url:
        yield url


def _browser(base_url: str) -> httpx.Client:
    return httpx.Client(base_url=base_url, timeout=30)


def _to_callback(browser: httpx.Client) -> str:
    """Start at the app and go through the issuer's /authorize; the callback URL it sends the
    browser back to (not followed yet)."""
    started = browser.get("/login/sso/test", params={"next": "/customers"})
    assert started.status_code == 303
    authorize = httpx.get(started.headers["location"])
    assert authorize.status_code == 302, authorize.text
    return authorize.headers["location"]


def _sign_in(browser: httpx.Client) -> httpx.Response:
    return browser.get(_to_callback(browser))


def _form_token_of_session(browser: httpx.Client) -> str:
    """The form token the signed session cookie carries (its first part is base64 JSON)."""
    cookie = browser.cookies["ticketbridge_session"]
    payload = cookie.split(".")[0]
    return str(json.loads(base64.b64decode(payload + "=" * (-len(payload) % 4)))["csrf"])


def _events(db: sessionmaker[Session], action: str) -> list[AuditEvent]:
    with db() as session:
        return list(
            session.scalars(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
            )
        )


def test_first_sign_in_creates_the_user_with_the_mapped_role_linked_by_subject(
    app_url: str, issuer: FakeIssuer, db: sessionmaker[Session]
) -> None:
    issuer.user = {
        "sub": "entra-oid-1",
        "preferred_username": "ada@msp.example",
        "email": "ada@msp.example",
        "groups": ["unrelated", "tb-operators", "tb-admins"],
    }
    with _browser(app_url) as browser:
        landed = _sign_in(browser)
        assert landed.status_code == 303
        assert landed.headers["location"] == "/customers"  # where the sign-in started
        dashboard = browser.get("/")
        assert dashboard.status_code == 200
        assert "ada@msp.example" in dashboard.text
        assert "(admin)" in dashboard.text  # the highest of the mapped groups
    with db() as session:
        user = session.scalars(select(User)).one()
        identity = session.scalars(select(UserIdentity)).one()
    assert (user.username, user.role) == ("ada@msp.example", "admin")
    assert (identity.user_id, identity.issuer, identity.subject) == (
        user.id,
        issuer.issuer,
        "entra-oid-1",
    )
    [event] = _events(db, "auth.sso_login")
    assert (event.outcome, event.details["role"], event.details["created"]) == ("ok", "admin", True)


def test_role_follows_the_groups_at_every_sign_in(
    app_url: str, issuer: FakeIssuer, db: sessionmaker[Session]
) -> None:
    issuer.user = {"sub": "s-2", "preferred_username": "bob", "groups": ["tb-admins"]}
    with _browser(app_url) as first:
        _sign_in(first)
        assert first.get("/admin/users").status_code == 200
        issuer.user = {**issuer.user, "groups": ["tb-viewers"]}
        with _browser(app_url) as second:
            assert _sign_in(second).status_code == 303
            assert "(viewer)" in second.get("/").text
        # A role change ends the user's other sign-ins, as it does from the Users page.
        assert first.get("/admin/users").status_code in (303, 307)
    with db() as session:
        assert session.scalars(select(User.role)).one() == "viewer"
        assert len(session.scalars(select(UserIdentity)).all()) == 1


def test_a_user_whose_groups_map_to_no_role_is_refused_with_a_page_and_an_audit_event(
    app_url: str, issuer: FakeIssuer, db: sessionmaker[Session]
) -> None:
    issuer.user = {"sub": "nobody-7", "preferred_username": "eve", "groups": ["marketing"]}
    with _browser(app_url) as browser:
        refused = _sign_in(browser)
        assert refused.status_code == 403
        assert "Sign-in refused" in refused.text
        assert "None of your groups at Test IdP gives a role" in refused.text
        assert "nobody-7" in refused.text  # what the person tells an admin
        assert browser.get("/").status_code in (303, 307)  # not signed in
    with db() as session:
        assert session.scalars(select(User)).all() == []
    [event] = _events(db, "auth.sso_login")
    assert (event.outcome, event.details["subject"]) == ("refused", "nobody-7")


def test_entra_group_overage_is_refused_with_the_reason(
    app_url: str, issuer: FakeIssuer, db: sessionmaker[Session]
) -> None:
    issuer.user = {
        "sub": "big-org-user",
        "_claim_names": {"groups": "src1"},
        "_claim_sources": {"src1": {"endpoint": "https://graph.microsoft.com/v1.0/x"}},
    }
    with _browser(app_url) as browser:
        refused = _sign_in(browser)
    assert refused.status_code == 403
    assert "left the &#39;groups&#39; claim out" in refused.text


def test_an_existing_local_account_with_the_same_email_is_never_taken_over(
    app_url: str, issuer: FakeIssuer, db: sessionmaker[Session]
) -> None:
    add_user(db, "ada@msp.example", Role.ADMIN)
    issuer.user = {
        "sub": "other-tenant-user",
        "preferred_username": "ada@msp.example",
        "email": "ada@msp.example",
        "groups": ["tb-viewers"],
    }
    with _browser(app_url) as browser:
        assert _sign_in(browser).status_code == 303
        assert f"ada@msp.example ({LABEL}) <small>(viewer)" in browser.get("/").text
    with db() as session:
        local = accounts.find_user(session, "ada@msp.example")
        assert local is not None and local.role == "admin"
        identity = session.scalars(select(UserIdentity)).one()
        assert identity.user_id != local.id


def test_a_callback_whose_state_is_not_this_browsers_is_refused_before_the_code_is_used(
    app_url: str, issuer: FakeIssuer, db: sessionmaker[Session]
) -> None:
    issuer.user = {"sub": "s-3", "groups": ["tb-admins"]}
    with _browser(app_url) as browser:
        callback = urlsplit(_to_callback(browser))
        code = parse_qs(callback.query)["code"][0]
        forged = browser.get(callback.path, params={"code": code, "state": "forged"})
        assert forged.status_code == 400
        assert "could not be matched" in forged.text
    with _browser(app_url) as stranger:  # another browser, no flow of its own
        assert stranger.get(callback.path, params={"code": code, "state": "x"}).status_code == 400
    assert issuer.token_requests == 0
    assert [e.outcome for e in _events(db, "auth.sso_login")] == ["failed", "failed"]


def _other_key_same_kid(issuer: FakeIssuer) -> dict[str, Any]:
    issuer.signing_key = RSAKey.generate_key(2048, {"kid": issuer.key.kid})
    return {}


def _unknown_key(issuer: FakeIssuer) -> dict[str, Any]:
    issuer.signing_key = RSAKey.generate_key(2048, auto_kid=True)
    return {}


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (lambda i: {"aud": "another-client"}, "aud"),
        (lambda i: {"iss": "https://evil.example"}, "iss"),
        (lambda i: {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}, "expired"),
        (lambda i: {"nonce": "replayed-nonce"}, "nonce"),
        (_other_key_same_kid, "bad_signature"),
        (_unknown_key, "invalid_key_id"),
    ],
    ids=["wrong-audience", "wrong-issuer", "expired", "wrong-nonce", "tampered", "unknown-key"],
)
def test_an_id_token_failing_a_check_signs_nobody_in(
    app_url: str, issuer: FakeIssuer, db: sessionmaker[Session], tamper: Any, reason: str
) -> None:
    issuer.user = {"sub": "s-4", "preferred_username": "mallory", "groups": ["tb-admins"]}
    issuer.id_token_claims = tamper(issuer)
    with _browser(app_url) as browser:
        answer = _sign_in(browser)
        assert answer.status_code == 401
        assert "Sign-in with Test IdP failed: the ID token was refused" in answer.text
        assert browser.get("/").status_code in (303, 307)
    with db() as session:
        assert session.scalars(select(User)).all() == []
    [event] = _events(db, "auth.sso_login")
    assert event.outcome == "failed" and reason in event.details["reason"]


def test_an_error_from_the_issuer_is_shown_and_nobody_is_signed_in(
    app_url: str, issuer: FakeIssuer, db: sessionmaker[Session]
) -> None:
    with _browser(app_url) as browser:
        callback = urlsplit(_to_callback(browser))
        state = parse_qs(callback.query)["state"][0]
        answer = browser.get(callback.path, params={"error": "access_denied", "state": state})
    assert answer.status_code == 401
    assert "Test IdP did not sign you in (access_denied)" in answer.text


def test_password_sign_in_switched_off_refuses_the_form_and_offers_single_sign_on(
    tmp_path: Path,
    database_url: str,
    engine: Engine,
    db: sessionmaker[Session],
    issuer: FakeIssuer,
) -> None:
    add_user(db, "local-admin", Role.ADMIN)
    settings = sso_settings(tmp_path, database_url, issuer, local_login=False)
    with served_app(settings, engine) as url, _browser(url) as browser:
        page = browser.get("/login")
        assert 'name="password"' not in page.text
        assert "Sign in with Test IdP" in page.text
        # The form posted anyway (an old tab, a script), with this browser's valid form token.
        answer = browser.post(
            "/login",
            data={
                "username": "local-admin",
                "password": PASSWORD,
                "csrf_token": _form_token_of_session(browser),
            },
        )
        assert answer.status_code == 403
        assert "Password sign-in is switched off" in answer.text
        assert browser.get("/").status_code in (303, 307)
    [event] = _events(db, "auth.login")
    assert event.outcome == "refused"


def test_an_identity_linked_by_an_admin_keeps_its_role_and_unknown_ones_are_refused(
    tmp_path: Path,
    database_url: str,
    engine: Engine,
    db: sessionmaker[Session],
    issuer: FakeIssuer,
) -> None:
    settings = sso_settings(tmp_path, database_url, issuer, provider={"create_users": False})
    [provider] = settings.oidc_providers
    issuer.user = {"sub": "first-admin", "preferred_username": "root@msp.example"}
    with served_app(settings, engine) as url:
        with _browser(url) as browser:
            assert _sign_in(browser).status_code == 403  # in no mapped group, not linked
        with db() as session:
            sso.link(
                session,
                provider,
                issuer=sso.issuer_of(provider),
                subject="first-admin",
                username="root",
                role=Role.ADMIN,
            )
            session.commit()
        with _browser(url) as browser:
            assert _sign_in(browser).status_code == 303
            assert "root <small>(admin)" in browser.get("/").text
        issuer.user = {"sub": "someone-else", "groups": ["tb-admins"]}
        with _browser(url) as browser:
            refused = _sign_in(browser)
            assert refused.status_code == 403
            assert "No ticketbridge account is linked" in refused.text


def test_admins_see_the_providers_read_only_without_the_client_secret(
    app_url: str, issuer: FakeIssuer, db: sessionmaker[Session]
) -> None:
    add_user(db, "admin", Role.ADMIN)
    with _browser(app_url) as browser:
        token = form_token(browser.get("/login").text)
        browser.post(
            "/login", data={"username": "admin", "password": PASSWORD, "csrf_token": token}
        )
        page = browser.get("/admin/sso")
    assert page.status_code == 200
    assert issuer.discovery_url in page.text
    assert f"{app_url}/login/sso/test/callback" in page.text
    assert "tb-operators" in page.text and "<form" not in page.text.split("<main", 1)[-1]
    assert CLIENT_SECRET not in page.text
