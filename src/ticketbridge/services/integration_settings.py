"""Settings > Integrations > Autotask: load, validate and save; the ready connector.

The API secret is write-only: it is encrypted with the installation's SecretBox before it is
stored, and nothing here returns, logs or audits it. An empty secret on save keeps the stored
one. While the integration is disabled, :func:`active` refuses to build a connector, so no page,
API route or job can reach Autotask (issue 4 item 6).

For ticket work (and anything else that talks to Autotask)::

    with integration_settings.active(runtime, session) as autotask:
        autotask.settings.base_url, autotask.defaults   # effective settings
        autotask.connector.create_ticket(...)           # a ready AutotaskConnector
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from ticketbridge.connectors.psa.autotask.connector import AutotaskConfig, AutotaskConnector
from ticketbridge.core.ticket_content import (
    DEFAULT_MAX_LISTED_OBJECTS,
    DEFAULT_TITLE_PREFIX,
    check_base_url,
)
from ticketbridge.core.ticket_fields import TicketDefaults
from ticketbridge.services import audit
from ticketbridge.services.runtime import Runtime
from ticketbridge.storage.models import IntegrationSetting, ReferenceValue
from ticketbridge.storage.secrets import SecretBox, SecretUnreadable

KIND = "autotask"
SUBJECT = "integration autotask"
ENVIRONMENTS = ("production", "sandbox", "custom")
LOGGING_LEVELS = ("off", "summary", "full")
MAX_LISTED_OBJECTS_LIMIT = 50
TITLE_PREFIX_MAX = 40

# Which reference category each ticket default is chosen from.
DEFAULT_FIELDS: dict[str, str] = {
    "default_queue_id": "queue",
    "default_source_id": "source",
    "default_status_id": "status",
    "priority_warning_id": "priority",
    "priority_error_id": "priority",
}


class AutotaskSettings(BaseModel):
    """Every setting except the secret. Stored as JSON; ``enabled`` has its own column."""

    model_config = ConfigDict(extra="ignore")

    enabled: bool = False
    environment: Literal["production", "sandbox", "custom"] = "production"
    api_host: str | None = None
    username: str = ""
    integration_code: str = ""
    base_url: str = ""
    default_queue_id: int | None = None
    default_source_id: int | None = None
    default_status_id: int | None = None
    priority_warning_id: int | None = None
    priority_error_id: int | None = None
    allow_resolve: bool = False
    allow_manual_ticket_numbers: bool = False
    logging_level: Literal["off", "summary", "full"] = "off"
    title_prefix: str = DEFAULT_TITLE_PREFIX
    max_listed_objects: int = DEFAULT_MAX_LISTED_OBJECTS

    @property
    def defaults(self) -> TicketDefaults:
        return TicketDefaults(
            queue_id=self.default_queue_id,
            source_id=self.default_source_id,
            status_id=self.default_status_id,
            priority_warning_id=self.priority_warning_id,
            priority_error_id=self.priority_error_id,
        )


@dataclass(frozen=True)
class StoredSettings:
    settings: AutotaskSettings
    secret_set: bool
    updated_by: str = ""
    updated_at: datetime | None = None
    reference_synced_at: datetime | None = None


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class InvalidIntegrationSettings(ValueError):
    """Settings refused; ``errors`` holds every problem, each at its field."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors


class IntegrationUnavailable(Exception):
    """Autotask cannot be used now; nothing was sent. The message is safe to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class IntegrationDisabled(IntegrationUnavailable):
    pass


class IntegrationNotConfigured(IntegrationUnavailable):
    pass


# --- load and save -------------------------------------------------------------------------


def _row(session: Session) -> IntegrationSetting | None:
    return session.get(IntegrationSetting, KIND)


def load(session: Session) -> StoredSettings:
    row = _row(session)
    if row is None:
        return StoredSettings(AutotaskSettings(), secret_set=False)
    settings = AutotaskSettings.model_validate({**(row.config or {}), "enabled": row.enabled})
    return StoredSettings(
        settings,
        secret_set=bool(row.secret_encrypted),
        updated_by=row.updated_by,
        updated_at=row.updated_at,
        reference_synced_at=row.reference_synced_at,
    )


def is_enabled(session: Session) -> bool:
    row = _row(session)
    return bool(row and row.enabled)


def save(
    session: Session,
    box: SecretBox,
    changes: dict[str, Any],
    *,
    actor: str,
    now: datetime,
) -> StoredSettings:
    """Apply ``changes`` (any subset of the settings, plus ``secret``) after validating the
    result as a whole; fields not given keep their values, an empty secret keeps the stored one.
    Raises InvalidIntegrationSettings listing every problem."""
    current = load(session)
    changes = dict(changes)
    secret = changes.pop("secret", None)
    if isinstance(secret, SecretStr):
        secret = secret.get_secret_value()
    new_secret = secret.strip() if isinstance(secret, str) and secret.strip() else None
    merged_raw = current.settings.model_dump() | _clean(changes)
    errors = _type_errors(merged_raw)
    if errors:
        raise InvalidIntegrationSettings(errors)
    merged = AutotaskSettings.model_validate(merged_raw)
    errors = check(session, merged, secret_set=current.secret_set or new_secret is not None)
    errors += _new_inactive_defaults(session, current.settings, merged)
    if errors:
        raise InvalidIntegrationSettings(errors)

    row = _row(session)
    if row is None:
        row = IntegrationSetting(kind=KIND, config={})
        session.add(row)
    before = current.settings.model_dump()
    after = merged.model_dump()
    row.enabled = merged.enabled
    row.config = {k: v for k, v in after.items() if k != "enabled"}
    if new_secret is not None:
        row.secret_encrypted = box.encrypt(new_secret)
    row.updated_by = actor
    row.updated_at = now
    changed = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    fields = sorted(changed) + (["secret"] if new_secret is not None else [])
    audit.record(
        session,
        actor=actor,
        action="autotask.settings.update",
        subject=SUBJECT,
        details={"fields": fields, "changes": changed},
    )
    session.flush()
    return load(session)


def _clean(changes: dict[str, Any]) -> dict[str, Any]:
    known = set(AutotaskSettings.model_fields)
    cleaned: dict[str, Any] = {}
    for key, value in changes.items():
        if key not in known:
            continue
        if isinstance(value, str):
            value = value.strip()
        if key in DEFAULT_FIELDS and value == "":
            value = None
        if key == "api_host" and value == "":
            value = None
        cleaned[key] = value
    return cleaned


def _type_errors(raw: dict[str, Any]) -> list[FieldError]:
    try:
        AutotaskSettings.model_validate(raw)
    except ValidationError as exc:
        return [
            FieldError(str(e["loc"][0]) if e["loc"] else "settings", _readable(e))
            for e in exc.errors()
        ]
    return []


def _readable(error: Any) -> str:
    field = str(error["loc"][0]) if error["loc"] else ""
    if field == "environment":
        return "choose production, sandbox or custom"
    if field == "logging_level":
        return "choose off, summary or full"
    return str(error["msg"])


def check(session: Session, settings: AutotaskSettings, *, secret_set: bool) -> list[FieldError]:
    """Every problem of these settings that can be seen without asking Autotask."""
    errors: list[FieldError] = []
    if settings.environment == "custom" and not settings.api_host:
        errors.append(FieldError("api_host", "the custom environment needs an API host"))
    if settings.api_host:
        url = httpx.URL(settings.api_host) if "://" in settings.api_host else None
        if url is None or url.scheme not in ("http", "https") or not url.host:
            errors.append(FieldError("api_host", "the API host must be an absolute http(s) URL"))
    if len(settings.username) > 200:
        errors.append(FieldError("username", "at most 200 characters"))
    if len(settings.integration_code) > 100:
        errors.append(FieldError("integration_code", "at most 100 characters"))
    if settings.enabled:
        if not settings.username:
            errors.append(FieldError("username", "the API username is required to enable"))
        if not secret_set:
            errors.append(FieldError("secret", "the API secret is required to enable"))
        if not settings.integration_code:
            errors.append(
                FieldError("integration_code", "the tracking identifier is required to enable")
            )
    if settings.base_url:
        problem = check_base_url(settings.base_url)
        if problem:
            errors.append(FieldError("base_url", problem))
    if not 0 <= settings.max_listed_objects <= MAX_LISTED_OBJECTS_LIMIT:
        errors.append(FieldError("max_listed_objects", f"choose 0 to {MAX_LISTED_OBJECTS_LIMIT}"))
    prefix = settings.title_prefix
    if len(prefix) > TITLE_PREFIX_MAX or any(ord(ch) < 32 for ch in prefix):
        errors.append(
            FieldError("title_prefix", f"at most {TITLE_PREFIX_MAX} printable characters")
        )
    known = _reference_ids(session)
    for field, category in DEFAULT_FIELDS.items():
        value = getattr(settings, field)
        if value is not None and value not in known.get(category, {}):
            errors.append(
                FieldError(field, f"{value} is not a known {category} (refresh reference data)")
            )
    return errors


def _new_inactive_defaults(
    session: Session, before: AutotaskSettings, after: AutotaskSettings
) -> list[FieldError]:
    """A default that became inactive in Autotask may stay; choosing one anew is refused."""
    known = _reference_ids(session)
    errors = []
    for field, category in DEFAULT_FIELDS.items():
        value = getattr(after, field)
        is_new = value is not None and value != getattr(before, field)
        if is_new and known.get(category, {}).get(value) is False:
            errors.append(FieldError(field, f"{value} is inactive in Autotask"))
    return errors


def _reference_ids(session: Session) -> dict[str, dict[int, bool]]:
    rows = session.execute(
        select(ReferenceValue.category, ReferenceValue.value_id, ReferenceValue.active).where(
            ReferenceValue.kind == KIND
        )
    )
    known: dict[str, dict[int, bool]] = {}
    for category, value_id, active in rows:
        known.setdefault(category, {})[int(value_id)] = bool(active)
    return known


def mark_reference_synced(session: Session, when: datetime) -> None:
    row = _row(session)
    if row is None:
        row = IntegrationSetting(kind=KIND, config=AutotaskSettings().model_dump())
        session.add(row)
    row.reference_synced_at = when


def set_defaults(session: Session, values: dict[str, int]) -> None:
    """Fill ticket defaults (used when reference data first arrives); no validation, no audit:
    the caller audits the action that chose them."""
    row = _row(session)
    if row is None or not values:
        return
    row.config = {**(row.config or {}), **values}


# --- the connector -------------------------------------------------------------------------


@dataclass(frozen=True)
class ActiveAutotask:
    settings: AutotaskSettings
    connector: AutotaskConnector

    @property
    def defaults(self) -> TicketDefaults:
        return self.settings.defaults


def connector_config(session: Session, box: SecretBox) -> tuple[AutotaskSettings, AutotaskConfig]:
    """The effective settings and the connector's Config; refuses while disabled."""
    row = _row(session)
    stored = load(session)
    if not stored.settings.enabled or row is None:
        raise IntegrationDisabled("The Autotask integration is disabled.")
    if not row.secret_encrypted:
        raise IntegrationNotConfigured("The Autotask API secret is not set.")
    try:
        secret = box.decrypt(row.secret_encrypted)
    except SecretUnreadable as exc:
        raise IntegrationNotConfigured(str(exc)) from None
    settings = stored.settings
    try:
        config = AutotaskConfig(
            environment=settings.environment,
            api_host=settings.api_host,
            username=settings.username,
            secret=SecretStr(secret),
            integration_code=settings.integration_code,
            logging_level=settings.logging_level,
        )
    except ValidationError as exc:
        fields = ", ".join(str(e["loc"][0]) for e in exc.errors() if e["loc"]) or "settings"
        raise IntegrationNotConfigured(
            f"The Autotask settings are incomplete or invalid ({fields})."
        ) from None
    return settings, config


@contextmanager
def active(runtime: Runtime, session: Session) -> Iterator[ActiveAutotask]:
    """The effective settings and a ready connector; closed on exit. Raises
    IntegrationDisabled or IntegrationNotConfigured before anything is sent."""
    settings, config = connector_config(session, runtime.secret_box)
    shared = runtime.psa_transport
    http = httpx.Client(
        transport=_Borrowed(shared) if shared is not None else None,
        timeout=config.timeout_seconds,
        follow_redirects=False,
    )
    try:
        yield ActiveAutotask(
            settings,
            AutotaskConnector(config, http_client=http, cache=runtime.autotask_cache),
        )
    finally:
        http.close()


class _Borrowed(httpx.BaseTransport):
    """The runtime's shared transport, which closing one client must not close."""

    def __init__(self, transport: httpx.BaseTransport) -> None:
        self._transport = transport

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._transport.handle_request(request)


# --- auditing remote actions ---------------------------------------------------------------


def error_details(exc: BaseException) -> dict[str, Any]:
    """What an audit event keeps of a failure: class, safe message, Autotask's status code and
    the redacted request line. Never a secret (connector messages hold none)."""
    details: dict[str, Any] = {"error": str(exc), "error_type": type(exc).__name__}
    status = getattr(exc, "status_code", None)
    if status is not None:
        details["status_code"] = status
    request = getattr(exc, "request", None)
    if request:
        details["request"] = request
    return details


def record_failure(
    runtime: Runtime, *, actor: str, action: str, exc: BaseException, subject: str = SUBJECT
) -> None:
    """Audit a failed remote action in a transaction of its own, so it survives the error."""
    with runtime.session_factory() as session:
        audit.record(
            session,
            actor=actor,
            action=action,
            subject=subject,
            outcome="failed",
            details=error_details(exc),
        )
        session.commit()
