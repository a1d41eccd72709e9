"""Settings > Integrations > Autotask: load, validate and save.

The API secret is write-only: it is encrypted with the installation's SecretBox before it is
stored, and nothing here returns, logs or audits it. An empty secret on save keeps the stored
one, unless the save points the settings at another destination (SECRET_BINDING): then the
stored secret is cleared and an audit event says so. The ready connector built from these
settings comes from :func:`ticketbridge.services.connections.autotask.active`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from ticketbridge.core.secret_binding import fields_clearing_secret
from ticketbridge.core.ticket_content import (
    DEFAULT_MAX_LISTED_OBJECTS,
    DEFAULT_TITLE_PREFIX,
    check_base_url,
)
from ticketbridge.core.ticket_fields import TicketDefaults
from ticketbridge.services.system import audit
from ticketbridge.storage.models import IntegrationSetting, ReferenceValue
from ticketbridge.storage.secrets import SecretBox

# The kind of the one PSA connection: its settings row, and the kind stored on mappings and
# ticket links (the registry's key, connectors/registry.py).
KIND = "autotask"
SUBJECT = "integration autotask"
ENVIRONMENTS = ("production", "sandbox", "custom")
LOGGING_LEVELS = ("off", "summary", "full")
MAX_LISTED_OBJECTS_LIMIT = 50
TITLE_PREFIX_MAX = 40

# The settings that say where the API secret goes and whose it is (core/secret_binding.py).
# The secret travels to the zone host that the lookup host names for the username: the lookup
# host comes from the environment (and the API host, in the custom environment), so a change of
# either can send it to another server; the username says whose secret it is. The integration
# code (tracking identifier) is sent along but only names the integrating software, so changing
# it sends the secret nowhere new; the base URL, defaults and options never travel with it.
SECRET_BINDING = ("environment", "api_host", "username")

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
    # Success runs are not offered Create unless this is on (issue 11): nothing failed.
    allow_success_tickets: bool = False
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
    # Set by save(): the destination fields whose change cleared the stored secret just now.
    secret_cleared_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class InvalidIntegrationSettings(ValueError):
    """Settings refused; ``errors`` holds every problem, each at its field."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors


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
    # Judged with the secret as it was: a change that clears it is saved (the integration then
    # answers "secret not set" and sends nothing) rather than refused for a missing secret.
    errors = check(session, merged, secret_set=current.secret_set or new_secret is not None)
    errors += _new_inactive_defaults(session, current.settings, merged)
    if errors:
        raise InvalidIntegrationSettings(errors)
    cleared: tuple[str, ...] = ()
    if current.secret_set:
        cleared = fields_clearing_secret(
            destination(current.settings),
            destination(merged),
            SECRET_BINDING,
            new_secret=new_secret is not None,
        )

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
    elif cleared:
        row.secret_encrypted = None
    row.updated_by = actor
    row.updated_at = now
    changed = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    fields = sorted(changed) + (["secret"] if new_secret is not None or cleared else [])
    audit.record(
        session,
        actor=actor,
        action="autotask.settings.update",
        subject=SUBJECT,
        details={"fields": fields, "changes": changed},
    )
    if cleared:
        audit.record(
            session,
            actor=actor,
            action="autotask.secret_cleared",
            subject=SUBJECT,
            details={
                "reason": "the destination changed and no new secret came with the change",
                "fields": list(cleared),
            },
        )
    session.flush()
    return replace(load(session), secret_cleared_by=cleared)


def destination(settings: AutotaskSettings) -> dict[str, object]:
    """Where the secret goes: the API host counts only in the custom environment (the others
    ignore it), so editing a leftover host under production clears nothing."""
    return {
        "environment": settings.environment,
        "api_host": settings.api_host if settings.environment == "custom" else None,
        "username": settings.username,
    }


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
