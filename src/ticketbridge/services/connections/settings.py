"""A PSA connection's settings: load, validate and save.

Each connection holds two kinds of settings: the ticket policy every kind shares
(:class:`ConnectionSettings`: defaults, resolve and compatibility switches, title prefix, the
link back to ticketbridge) and its kind's connector settings, the fields of the kind's config
model (``registry.config_model``) stored under ``connector``. The config model's secret fields
(``SecretStr``) are write-only: they are encrypted together with the installation's SecretBox
before they are stored, and nothing here returns, logs or audits them. An empty secret on save
keeps the stored one, unless the save points the connection at another destination (the config
model's ``secret_destination``): then the stored secrets are cleared and an audit event says so.
The ready connector built from these settings comes from
:func:`ticketbridge.services.connections.active.active`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import PydanticUndefined
from sqlalchemy import select
from sqlalchemy.orm import Session

from ticketbridge.connectors import registry
from ticketbridge.core.secret_binding import fields_clearing_secret
from ticketbridge.core.ticket_content import (
    DEFAULT_MAX_LISTED_OBJECTS,
    DEFAULT_TITLE_PREFIX,
    check_base_url,
)
from ticketbridge.core.ticket_fields import TicketDefaults
from ticketbridge.services.connections import named
from ticketbridge.services.connections.connector_fields import (
    FieldError,
    connector_errors,
    connector_fields,
    destination,
    new_secrets,
    readable_secrets,
)
from ticketbridge.services.system import audit
from ticketbridge.storage.models import PsaConnection, ReferenceValue
from ticketbridge.storage.secrets import SecretBox

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


class ConnectionSettings(BaseModel):
    """The ticket policy of a connection, the same for every kind. ``enabled`` has its own
    column; the rest is stored as JSON next to the connector settings."""

    model_config = ConfigDict(extra="ignore")

    enabled: bool = False
    # Where ticketbridge is reached: the link written into tickets.
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


POLICY_FIELDS = frozenset(ConnectionSettings.model_fields)


@dataclass(frozen=True)
class StoredSettings:
    settings: ConnectionSettings
    secret_set: bool
    # The kind's connector settings, secrets left out.
    connector: Mapping[str, Any]
    connection_id: int | None = None
    name: str = ""
    kind: str = ""
    updated_by: str = ""
    updated_at: datetime | None = None
    reference_synced_at: datetime | None = None
    # Set by save(): the destination fields whose change cleared the stored secret just now.
    secret_cleared_by: tuple[str, ...] = ()

    def flat(self) -> dict[str, Any]:
        """Policy and connector settings side by side, as the API by kind shows them; where a
        kind's field shares a policy field's name (Jira's base_url) the policy's is shown."""
        return {**self.connector, **self.settings.model_dump()}


class InvalidIntegrationSettings(ValueError):
    """Settings refused; ``errors`` holds every problem, each at its field."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors


# --- load and save -------------------------------------------------------------------------


def load(session: Session, connection_id: int | None = None) -> StoredSettings:
    """The connection's settings (None: the ticketing default connection); empty, disabled
    settings when there is no connection yet."""
    row = named.find(session, connection_id)
    if row is None:
        if connection_id is not None:
            raise named.UnknownConnection(connection_id)
        return StoredSettings(ConnectionSettings(), secret_set=False, connector={})
    return load_row(row)


def load_row(row: PsaConnection) -> StoredSettings:
    """The settings of a connection already read."""
    config = dict(row.config or {})
    defaults = {
        name: None if info.default is PydanticUndefined else info.default
        for name, info in connector_fields(row.kind).items()
    }
    connector = defaults | dict(config.pop("connector", None) or {})
    settings = ConnectionSettings.model_validate({**config, "enabled": row.enabled})
    return StoredSettings(
        settings,
        secret_set=bool(row.secret_encrypted),
        connector=connector,
        connection_id=row.id,
        name=row.name,
        kind=row.kind,
        updated_by=row.updated_by,
        updated_at=row.updated_at,
        reference_synced_at=row.reference_synced_at,
    )


def save(
    session: Session,
    box: SecretBox,
    changes: dict[str, Any],
    *,
    actor: str,
    now: datetime,
    connection_id: int | None = None,
    kind: str | None = None,
) -> StoredSettings:
    """Apply ``changes`` (any subset of the policy, connector and secret fields, flat, or the
    connector's under ``connector``) after validating the result as a whole; fields not given
    keep their values, an empty secret keeps the stored one. Raises InvalidIntegrationSettings
    listing every problem, UnknownConnection when there is no such connection. ``kind``
    instead of an id: the first connection of that kind, made when there is none."""
    row = (
        named.ensure_of_kind(session, kind, actor=actor, now=now)
        if kind is not None and connection_id is None
        else named.get(session, connection_id)
    )
    current = load_row(row)
    kind = row.kind
    changes = dict(changes)
    nested = dict(changes.pop("connector", None) or {})
    known_fields = registry.config_model(kind).model_fields
    unknown = sorted(
        {k for k in changes if k not in POLICY_FIELDS and k not in known_fields}
        | {k for k in nested if k not in known_fields}
    )
    if unknown:
        raise InvalidIntegrationSettings(
            [FieldError(k, "not a setting of this connection") for k in unknown]
        )
    entered = new_secrets(kind, changes) | new_secrets(kind, nested)
    policy_raw = current.settings.model_dump() | _clean_policy(changes)
    flat_connector = {k: v for k, v in changes.items() if k not in POLICY_FIELDS}
    connector_raw = (
        dict(current.connector)
        | _clean_connector(kind, flat_connector)
        | _clean_connector(kind, nested)
    )
    errors = _type_errors(policy_raw)
    if errors:
        raise InvalidIntegrationSettings(errors)
    merged = ConnectionSettings.model_validate(policy_raw)
    # Judged with the secret as it was: a change that clears it is saved (the connection then
    # answers "secret not set" and sends nothing) rather than refused for a missing secret.
    secret_set = current.secret_set or bool(entered)
    errors = check(
        session, merged, connector_raw, kind=kind, secret_set=secret_set, connection_id=row.id
    )
    errors += _new_inactive_defaults(session, current.settings, merged, row.id)
    if errors:
        raise InvalidIntegrationSettings(errors)
    cleared: tuple[str, ...] = ()
    if current.secret_set:
        binding = destination(kind, current.connector)
        cleared = fields_clearing_secret(
            binding,
            destination(kind, connector_raw),
            tuple(binding),
            new_secret=bool(entered),
        )

    before = current.flat()
    row.enabled = merged.enabled
    row.config = {
        **{k: v for k, v in merged.model_dump().items() if k != "enabled"},
        "connector": connector_raw,
    }
    if entered:
        kept = {} if cleared else readable_secrets(row, box)
        row.secret_encrypted = box.encrypt(json.dumps({"secrets": kept | entered}))
    elif cleared:
        row.secret_encrypted = None
    row.updated_by = actor
    row.updated_at = now
    after = {**connector_raw, **merged.model_dump()}
    changed = {k: [before.get(k), after[k]] for k in after if before.get(k) != after[k]}
    fields = sorted(changed) + sorted(entered) + (["secret"] if cleared else [])
    audit.record(
        session,
        actor=actor,
        action=f"{kind}.settings.update",
        subject=named.subject(row),
        details={"fields": fields, "changes": changed},
    )
    if cleared:
        audit.record(
            session,
            actor=actor,
            action=f"{kind}.secret_cleared",
            subject=named.subject(row),
            details={
                "reason": "the destination changed and no new secret came with the change",
                "fields": list(cleared),
            },
        )
    session.flush()
    return replace(load_row(row), secret_cleared_by=cleared)


def _clean_policy(changes: dict[str, Any]) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for key, value in changes.items():
        if key not in POLICY_FIELDS:
            continue
        if isinstance(value, str):
            value = value.strip()
        if key in DEFAULT_FIELDS and value == "":
            value = None
        cleaned[key] = value
    return cleaned


def _clean_connector(kind: str, changes: dict[str, Any]) -> dict[str, Any]:
    fields = connector_fields(kind)
    cleaned: dict[str, Any] = {}
    for key, value in changes.items():
        if key not in fields:
            continue
        if isinstance(value, str):
            value = value.strip()
            if value == "" and fields[key].default is None:
                value = None
        cleaned[key] = value
    return cleaned


def _type_errors(raw: dict[str, Any]) -> list[FieldError]:
    try:
        ConnectionSettings.model_validate(raw)
    except ValidationError as exc:
        return [
            FieldError(str(e["loc"][0]) if e["loc"] else "settings", str(e["msg"]))
            for e in exc.errors()
        ]
    return []


def check(
    session: Session,
    settings: ConnectionSettings,
    connector: Mapping[str, Any],
    *,
    kind: str,
    secret_set: bool,
    connection_id: int | None,
) -> list[FieldError]:
    """Every problem of these settings that can be seen without asking the PSA."""
    errors = connector_errors(kind, connector, secret_set=secret_set, enabled=settings.enabled)
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
    known = _reference_ids(session, connection_id)
    for field, category in DEFAULT_FIELDS.items():
        value = getattr(settings, field)
        if value is not None and value not in known.get(category, {}):
            errors.append(
                FieldError(field, f"{value} is not a known {category} (refresh reference data)")
            )
    return errors


def _new_inactive_defaults(
    session: Session, before: ConnectionSettings, after: ConnectionSettings, connection_id: int
) -> list[FieldError]:
    """A default that became inactive in the PSA may stay; choosing one anew is refused."""
    known = _reference_ids(session, connection_id)
    errors = []
    for field, category in DEFAULT_FIELDS.items():
        value = getattr(after, field)
        is_new = value is not None and value != getattr(before, field)
        if is_new and known.get(category, {}).get(value) is False:
            errors.append(FieldError(field, f"{value} is inactive in the PSA"))
    return errors


def _reference_ids(session: Session, connection_id: int | None) -> dict[str, dict[int, bool]]:
    if connection_id is None:
        return {}
    rows = session.execute(
        select(ReferenceValue.category, ReferenceValue.value_id, ReferenceValue.active).where(
            ReferenceValue.connection_id == connection_id
        )
    )
    known: dict[str, dict[int, bool]] = {}
    for category, value_id, active in rows:
        known.setdefault(category, {})[int(value_id)] = bool(active)
    return known


def mark_reference_synced(session: Session, connection_id: int, when: datetime) -> None:
    named.get(session, connection_id).reference_synced_at = when


def set_defaults(session: Session, connection_id: int, values: dict[str, int]) -> None:
    """Fill ticket defaults (used when reference data first arrives); no validation, no audit:
    the caller audits the action that chose them."""
    row = named.find(session, connection_id)
    if row is None or not values:
        return
    row.config = {**(row.config or {}), **values}
