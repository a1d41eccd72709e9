"""Response headers (issue 10, item 6): every page, API answer, static file and error carries
the Content-Security-Policy and its companions; HSTS only when the cookie is HTTPS-only; and
no page serves inline script or style, which the policy would block."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from tests.factories import NOW, add_token, add_user, login
from ticketbridge.core.roles import Role
from ticketbridge.services.demo import data as demo
from ticketbridge.services.demo import mail as demo_mail
from ticketbridge.settings import Settings
from ticketbridge.web import api
from ticketbridge.web.app import create_app
from ticketbridge.web.ui import routes as ui_routes

EXPECTED = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}
# Ids that exist once the demo data is stored; other path parameters get 1 and may be 404s,
# which must carry the headers too.
IDS = {"job_id": "1", "run_id": "1", "customer_id": "1", "mail_id": "1", "source_id": "1"}
INLINE = {
    "inline script": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE),
    "style element": re.compile(r"<style\b", re.IGNORECASE),
    "style attribute": re.compile(r"<[^>]+\sstyle\s*=", re.IGNORECASE),
    "event handler attribute": re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE),
    "javascript: URL": re.compile(r"javascript:", re.IGNORECASE),
}


def get_paths(router: Any, prefix: str = "") -> list[str]:
    """Every GET route of a router, included routers too, with its path parameters filled."""
    found: list[str] = []
    for route in router.routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            found += get_paths(included, prefix)
        elif "GET" in (getattr(route, "methods", None) or ()):
            found.append(prefix + re.sub(r"\{(\w+)\}", lambda m: IDS.get(m[1], "1"), route.path))
    return found


@pytest.fixture
def seeded(db: sessionmaker[Session]) -> None:
    with db() as session:
        demo.seed(session, NOW)
        demo_mail.seed(session, NOW)
        session.commit()


@pytest.fixture
def admin(app: FastAPI, db: sessionmaker[Session]) -> Iterator[TestClient]:
    add_user(db, "admin", Role.ADMIN)
    with TestClient(app) as client:
        assert login(client, "admin").status_code == 303
        yield client


def answers(app: FastAPI, admin: TestClient, db: sessionmaker[Session]) -> dict[str, Any]:
    """What a signed-in admin, an API token, and a stranger are answered, path by path."""
    token = add_token(db, Role.ADMIN)
    with TestClient(app) as stranger:
        pages = {p: admin.get(p, follow_redirects=False) for p in get_paths(ui_routes.router)}
        bearer = {"Authorization": f"Bearer {token}"}
        api_paths = get_paths(api.router, api.router.prefix)
        assert "/api/v1/runs" in api_paths
        calls = {p: admin.get(p, headers=bearer) for p in api_paths}
        others = {
            path: stranger.get(path, follow_redirects=False)
            for path in (
                "/login",
                "/",
                "/api/v1/runs",
                "/api/docs",
                "/api/v1/openapi.json",
                "/static/style.css",
                "/static/api-docs.js",
                "/api/docs-assets/swagger-ui.css",
                "/healthz",
                "/no-such-page",
                "/api/v1/no-such-thing",
            )
        }
    return {**pages, **calls, **{f"stranger {p}": r for p, r in others.items()}}


def test_every_page_and_api_answer_carries_the_security_headers(
    app: FastAPI, admin: TestClient, db: sessionmaker[Session], seeded: None
) -> None:
    served = answers(app, admin, db)

    statuses = {response.status_code for response in served.values()}
    assert {200, 303, 401, 404} <= statuses
    for path, response in served.items():
        policy = response.headers.get("content-security-policy", "")
        assert "default-src 'self'" in policy, path
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy, path
        assert "unsafe-inline" not in policy, path
        for name, value in EXPECTED.items():
            assert response.headers.get(name) == value, (path, name)
        assert "strict-transport-security" not in response.headers, path


def test_no_page_serves_inline_script_or_style(
    app: FastAPI, admin: TestClient, db: sessionmaker[Session], seeded: None
) -> None:
    pages = {
        path: response
        for path, response in answers(app, admin, db).items()
        if response.headers.get("content-type", "").startswith("text/html")
    }

    assert len([r for r in pages.values() if r.status_code == 200]) >= 15
    assert "stranger /api/docs" in pages and "/inbox/1" in pages
    for path, response in pages.items():
        for what, pattern in INLINE.items():
            assert not pattern.search(response.text), f"{path}: {what}"


def test_hsts_is_sent_only_when_the_session_cookie_is_https_only(
    settings: Settings, engine: Engine, db: sessionmaker[Session]
) -> None:
    for secure in (False, True):
        app = create_app(settings.model_copy(update={"cookie_secure": secure}), engine=engine)
        with TestClient(app) as client:
            for path in ("/login", "/api/v1/runs", "/static/style.css"):
                hsts = client.get(path).headers.get("strict-transport-security")
                assert hsts == ("max-age=31536000" if secure else None), (secure, path)
