from __future__ import annotations

from pathlib import Path

import pytest

from ticketbridge.settings import InsecureSecretKey, Settings, resolve_secret_key


def _settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(var_dir=tmp_path, _env_file=None, **values)  # type: ignore[call-arg, arg-type]


def test_outside_demo_mode_a_missing_secret_key_refuses_start(tmp_path: Path) -> None:
    with pytest.raises(InsecureSecretKey, match="TICKETBRIDGE_SECRET_KEY"):
        resolve_secret_key(_settings(tmp_path))


@pytest.mark.parametrize("key", ["changeme", "short", "secret"])
def test_a_default_or_short_secret_key_refuses_start(tmp_path: Path, key: str) -> None:
    with pytest.raises(InsecureSecretKey):
        resolve_secret_key(_settings(tmp_path, secret_key=key))


def test_demo_mode_generates_a_key_once_and_keeps_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    first = resolve_secret_key(_settings(tmp_path, demo_mode=True))
    second = resolve_secret_key(_settings(tmp_path, demo_mode=True))

    assert first == second and len(first) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    assert "generated a secret key" in caplog.text


def test_secrets_can_come_from_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret_file = tmp_path / "key"
    secret_file.write_text("k" * 48 + "\n")
    monkeypatch.setenv("TICKETBRIDGE_SECRET_KEY_FILE", str(secret_file))

    settings = _settings(tmp_path)

    assert resolve_secret_key(settings) == "k" * 48


def test_environment_variables_use_the_prefix(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TICKETBRIDGE_PORT", "8123")
    monkeypatch.setenv("TICKETBRIDGE_DATABASE_URL", "postgresql+psycopg://db/x")

    settings = _settings(tmp_path)

    assert settings.port == 8123
    assert settings.uses_postgresql
