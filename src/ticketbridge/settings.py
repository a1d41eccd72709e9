"""The only module that reads the environment.

Every setting has the TICKETBRIDGE_ prefix and may come from a `.env` file. Secrets may also be
given as a file path through `<NAME>_FILE` (for Docker and systemd credentials).
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

log = logging.getLogger(__name__)

SECRET_FIELDS = ("secret_key", "demo_password", "metrics_token")
MIN_SECRET_KEY_LENGTH = 32
ROLE_NAMES = ("viewer", "reporter", "operator", "admin")


class OidcProvider(BaseModel):
    """One OpenID Connect issuer people may sign in with (docs/security.md, Single sign-on).

    ``name`` appears in the redirect URI (/login/sso/<name>/callback) registered at the issuer.
    The client secret is given inline or, better, as ``client_secret_file``; it is read here and
    never shown or logged."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")
    label: str = Field(min_length=1, max_length=80)
    discovery_url: str = Field(pattern=r"^https?://", max_length=500)
    client_id: str = Field(min_length=1, max_length=300)
    client_secret: SecretStr | None = None
    client_secret_file: Path | None = None
    scopes: tuple[str, ...] = ("openid", "email", "profile")
    # The claim holding group ids, role names or a domain ("groups", "roles", "hd"); a dotted
    # path reaches into an object ("realm_access.roles").
    groups_claim: str = Field(default="groups", min_length=1, max_length=200)
    # Claim value -> role; of several matching values the highest role wins.
    role_mapping: dict[str, str] = Field(default_factory=dict)
    # Whether a first sign-in whose groups map to a role creates the user; if not, an admin
    # links the identity first (`ticketbridge user link-sso`).
    create_users: bool = True

    @model_validator(mode="after")
    def _check(self) -> OidcProvider:
        if "openid" not in self.scopes:
            raise ValueError(f"provider {self.name}: scopes must include 'openid'")
        wrong = sorted({role for role in self.role_mapping.values() if role not in ROLE_NAMES})
        if wrong:
            raise ValueError(f"provider {self.name}: unknown role(s) {wrong} in role_mapping")
        if self.client_secret_file is not None and self.client_secret is None:
            secret = self.client_secret_file.read_text(encoding="utf-8").strip()
            object.__setattr__(self, "client_secret", SecretStr(secret))
        return self


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TICKETBRIDGE_", env_file=".env", extra="ignore", env_file_encoding="utf-8"
    )

    var_dir: Path = Path("var")
    database_url: str = ""
    secret_key: SecretStr | None = None
    demo_mode: bool = False
    demo_password: SecretStr | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    # Where the internet reaches this service (https://tickets.example.com): Microsoft 365
    # mail sources then subscribe to change notifications posted to it and poll at once when
    # mail arrives (docs/mail-sources.md). Empty: sources are polled at their interval only.
    public_url: str = Field(default="", pattern=r"^(https?://[^\s/?#]+(/[^\s?#]*)?)?$")
    cookie_secure: bool = False
    # A browser sign-in ends this long after it began, however busy it is.
    session_max_age_seconds: int = Field(default=12 * 3600, ge=60)
    # Sign-in throttling per (username, client address): after this many failures in a row the
    # pair waits 1 s, and each further failure doubles the wait, up to login_lockout_seconds.
    login_max_failures: int = Field(default=5, ge=1)
    login_lockout_seconds: int = Field(default=300, ge=1)
    # "inprocess" runs background jobs inside `serve`; "procrastinate" defers them to workers.
    worker_mode: str = Field(default="auto", pattern="^(auto|inprocess|procrastinate)$")
    log_level: str = "INFO"
    # "json": every log line one JSON object (request id, route, user, connection, job);
    # "text": the plain lines of before (docs/operations.md, Logs).
    log_format: str = Field(default="text", pattern="^(json|text)$")
    # GET /metrics (Prometheus) answers only a bearer of this token; without it, and without
    # metrics_port, there is no /metrics. With metrics_port the metrics are served on that
    # port of metrics_host instead (the token, when set, is asked there too), never on the UI
    # port (docs/operations.md, Metrics).
    metrics_token: SecretStr | None = None
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    metrics_host: str = "127.0.0.1"
    # prometheus-client's multiprocess mode (its own variable, read by it at import too): the
    # directory where every process of one host writes its metrics for the scrape to add up.
    metrics_multiproc_dir: Path | None = Field(
        default=None, validation_alias="PROMETHEUS_MULTIPROC_DIR"
    )
    # Mail intake: a larger mail is kept as headers only and marked failed; raw mail older than
    # the retention is purged (its runs stay). 0 keeps raw mail forever.
    mail_max_bytes: int = Field(default=25 * 1024 * 1024, ge=1024)
    mail_retention_days: int = Field(default=180, ge=0)
    # Request bodies, refused with 413 from Content-Length or once this much has streamed in:
    # JSON API calls and UI forms; POST /api/v1/runs (a 1,000-run batch, every run with a full
    # 20,000-character remark and five objects, is 28 MiB); mail uploads may carry up to
    # mail_max_bytes per file (web/limits.py).
    request_max_bytes: int = Field(default=1024 * 1024, ge=64 * 1024)
    runs_request_max_bytes: int = Field(default=32 * 1024 * 1024, ge=1024 * 1024)
    # Ticket creates: after a create whose outcome we did not see, no other create is sent for
    # the run until this long has passed and a search found nothing (never less than the
    # create timeout plus a minute). Clicks wait this long for an action before answering 202.
    ticket_create_quiet_seconds: int = Field(default=300, ge=60)
    ticket_action_wait_seconds: float = Field(default=0.75, ge=0, le=30)
    # Threads that run operator ticket actions in `serve`, and threads that answer requests;
    # the database pool is sized from these so that no request waits for a connection.
    ticket_action_threads: int = Field(default=8, ge=1, le=64)
    web_threads: int = Field(default=32, ge=4, le=256)
    # A review can be taken back (Undo on Run Checks) this long after it was made, by whoever
    # made it or an admin; 0 turns Undo off.
    review_undo_minutes: int = Field(default=10, ge=0, le=24 * 60)
    # Single sign-on: a JSON list of OidcProvider objects (or a file of it through
    # TICKETBRIDGE_OIDC_PROVIDERS_FILE). local_login=false leaves single sign-on only; the
    # break-glass way back is to set it true again and restart (docs/security.md).
    oidc_providers: tuple[OidcProvider, ...] = ()
    local_login: bool = True

    @model_validator(mode="before")
    @classmethod
    def _read_secret_files(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        for name in SECRET_FIELDS:
            path = os.environ.get(f"TICKETBRIDGE_{name.upper()}_FILE")
            if path and not data.get(name):
                data[name] = Path(path).read_text(encoding="utf-8").strip()
        providers_file = os.environ.get("TICKETBRIDGE_OIDC_PROVIDERS_FILE")
        if providers_file and not data.get("oidc_providers"):
            data["oidc_providers"] = json.loads(Path(providers_file).read_text(encoding="utf-8"))
        return data

    @model_validator(mode="after")
    def _unique_provider_names(self) -> Settings:
        names = [provider.name for provider in self.oidc_providers]
        if len(names) != len(set(names)):
            raise ValueError("TICKETBRIDGE_OIDC_PROVIDERS: provider names must be unique")
        return self

    def oidc_provider(self, name: str) -> OidcProvider | None:
        return next((p for p in self.oidc_providers if p.name == name), None)

    @property
    def database_pool_size(self) -> int:
        """Connections every thread that may hold one at once can have: request threads,
        ticket action threads, and room for the in-process jobs, scheduler and mail watchers."""
        return self.web_threads + self.ticket_action_threads + 8

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.var_dir / 'ticketbridge.db'}"

    @property
    def uses_postgresql(self) -> bool:
        return self.effective_database_url.startswith("postgresql")

    @property
    def effective_worker_mode(self) -> str:
        if self.worker_mode != "auto":
            return self.worker_mode
        return "inprocess"


class InsecureSecretKey(RuntimeError):
    """Raised when the service would start outside demo mode without a proper secret key."""


def resolve_secret_key(settings: Settings) -> str:
    """Return the secret key, generating one into var/ for demo mode.

    Outside demo mode a missing, default or short key refuses start-up: sessions and the
    encryption of stored secrets hang on it.
    """
    if settings.secret_key is not None:
        key = settings.secret_key.get_secret_value()
        if len(key) < MIN_SECRET_KEY_LENGTH or key.lower() in {"changeme", "change-me", "secret"}:
            raise InsecureSecretKey(
                f"TICKETBRIDGE_SECRET_KEY must be at least {MIN_SECRET_KEY_LENGTH} characters "
                "and not a placeholder"
            )
        return key
    key_file = settings.var_dir / "secret_key"
    if key_file.exists():
        return key_file.read_text(encoding="utf-8").strip()
    if not settings.demo_mode:
        raise InsecureSecretKey(
            "no TICKETBRIDGE_SECRET_KEY (or TICKETBRIDGE_SECRET_KEY_FILE) is set; "
            "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))'"
        )
    settings.var_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # owner only
    key = secrets.token_urlsafe(48)
    key_file.write_text(key, encoding="utf-8")
    key_file.chmod(0o600)
    log.warning("generated a secret key into %s (demo mode); set TICKETBRIDGE_SECRET_KEY", key_file)
    return key


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
