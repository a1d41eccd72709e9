"""Single sign-on test wiring: the test issuer and the app, each served by uvicorn on a loopback
port, the app configured with the issuer as provider "test"."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from tests.conftest import settings_kwargs
from tests.fakes.oidc_provider import CLIENT_ID, CLIENT_SECRET, FakeIssuer
from tests.web.live_server import serve
from tests.web.serving import serve as serve_plain
from ticketbridge.settings import Settings
from ticketbridge.web.app import create_app

LABEL = "Test IdP"
ROLE_MAPPING = {"tb-admins": "admin", "tb-operators": "operator", "tb-viewers": "viewer"}


@contextmanager
def served_issuer() -> Iterator[FakeIssuer]:
    issuer = FakeIssuer()
    with serve_plain(issuer.app) as base_url:
        issuer.issuer = base_url
        yield issuer


def provider_config(issuer: FakeIssuer, **overrides: Any) -> dict[str, Any]:
    return {
        "name": "test",
        "label": LABEL,
        "discovery_url": issuer.discovery_url,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "groups_claim": "groups",
        "role_mapping": ROLE_MAPPING,
        **overrides,
    }


def sso_settings(
    tmp_path: Path, database_url: str, issuer: FakeIssuer, **overrides: Any
) -> Settings:
    provider = provider_config(issuer, **overrides.pop("provider", {}))
    return Settings(
        **settings_kwargs(
            var_dir=tmp_path / "var",
            database_url=database_url,
            oidc_providers=[provider],
            **overrides,
        )
    )


@contextmanager
def served_app(settings: Settings, engine: Engine) -> Iterator[str]:
    with serve(create_app(settings, engine=engine)) as base_url:
        yield base_url


@contextmanager
def sso_world(
    tmp_path: Path, database_url: str, engine: Engine, **overrides: Any
) -> Iterator[tuple[FakeIssuer, str]]:
    """The issuer and the app configured with it, both served; yields both."""
    with served_issuer() as issuer:
        settings = sso_settings(tmp_path, database_url, issuer, **overrides)
        with served_app(settings, engine) as url:
            yield issuer, url
