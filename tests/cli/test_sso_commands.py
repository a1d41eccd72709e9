"""`ticketbridge user link-sso`: the first admin of a single sign-on installation, linked by
issuer and subject before any group is mapped."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from tests.conftest import TEST_SECRET_KEY
from tests.fakes.oidc_provider import FakeIssuer
from tests.web.sso_support import provider_config, served_issuer
from ticketbridge.cli.main import app
from ticketbridge.services.accounts import users as accounts
from ticketbridge.settings import get_settings
from ticketbridge.storage.models import User, UserIdentity

runner = CliRunner()


@pytest.fixture
def issuer(
    monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path, db: sessionmaker[Session]
) -> Iterator[FakeIssuer]:
    with served_issuer() as made:
        monkeypatch.setenv("TICKETBRIDGE_DATABASE_URL", database_url)
        monkeypatch.setenv("TICKETBRIDGE_SECRET_KEY", TEST_SECRET_KEY)
        monkeypatch.setenv("TICKETBRIDGE_VAR_DIR", str(tmp_path / "var"))
        monkeypatch.setenv("TICKETBRIDGE_OIDC_PROVIDERS", json.dumps([provider_config(made)]))
        get_settings.cache_clear()
        yield made
    get_settings.cache_clear()


def test_link_sso_creates_the_first_admin_without_a_password(
    issuer: FakeIssuer, db: sessionmaker[Session]
) -> None:
    args = ["user", "link-sso", "-u", "root", "-p", "test", "-s", "oid-1", "-r", "admin"]
    result = runner.invoke(app, args)

    assert result.exit_code == 0, result.output
    assert "with the role admin kept at every sign-in" in result.output
    with db() as session:
        user = session.scalars(select(User)).one()
        identity = session.scalars(select(UserIdentity)).one()
        assert (user.username, user.role) == ("root", "admin")
        assert (identity.issuer, identity.subject, identity.fixed_role) == (
            issuer.issuer,
            "oid-1",
            "admin",
        )
        # No password signs in as this user: it has none.
        assert accounts.find_user(session, "root") is user
        assert not accounts._verify(user.password_hash, "")

    again = runner.invoke(app, [*args[:3], "someone-else", *args[4:]])
    assert again.exit_code == 1 and "linked to root already" in again.output


def test_link_sso_names_the_configured_providers_when_the_name_is_wrong(
    issuer: FakeIssuer,
) -> None:
    result = runner.invoke(app, ["user", "link-sso", "-u", "x", "-p", "entra", "-s", "1"])
    assert result.exit_code == 1
    assert "no provider named 'entra' (configured: test)" in result.output
