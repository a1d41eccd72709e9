"""Mail sources an admin configures: IMAP and Microsoft Graph mailboxes, the SMTP receiver.

The config is stored as JSON without its secret; the secret (IMAP password, Graph client secret)
is encrypted at rest with the installation's key and never rendered, logged or returned: views
only say whether one is set. An update with an empty secret keeps the stored one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ticketbridge.connectors.errors import ConnectorConfigError
from ticketbridge.connectors.registry import load
from ticketbridge.services import audit
from ticketbridge.storage.models import MailSource
from ticketbridge.storage.secrets import SecretBox

KINDS = ("imap", "graph", "smtp", "upload")
POLLED = ("imap", "graph")
# kind -> "module:Class"; the class carries its pydantic `Config` (habit 1 and 3).
SOURCE_CLASSES: dict[str, str] = {
    "imap": "ticketbridge.connectors.mail.imap:ImapSource",
    "graph": "ticketbridge.connectors.mail.graph:GraphSource",
}
# Kinds whose config is validated by a connector model without being polled.
CONFIG_CLASSES: dict[str, str] = {
    **SOURCE_CLASSES,
    "smtp": "ticketbridge.connectors.mail.smtp:SmtpReceiver",
}
SECRET_FIELDS = {"imap": "password", "graph": "client_secret"}
# Stands in for a kept secret while the rest of the config is validated.
_PLACEHOLDER = "x" * 12


class SourceError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class SourceNotFound(LookupError):
    pass


@dataclass(frozen=True)
class SourceView:
    """What the UI and the API may show: never the secret itself."""

    id: int
    kind: str
    name: str
    enabled: bool
    config: dict[str, Any]
    has_secret: bool
    last_poll_at: datetime | None
    last_success_at: datetime | None
    last_error: str
    fetched_count: int
    stored_count: int
    duplicate_count: int

    @classmethod
    def of(cls, source: MailSource) -> SourceView:
        return cls(
            id=source.id,
            kind=source.kind,
            name=source.name,
            enabled=source.enabled,
            config=dict(source.config or {}),
            has_secret=bool(source.secret),
            last_poll_at=source.last_poll_at,
            last_success_at=source.last_success_at,
            last_error=source.last_error,
            fetched_count=source.fetched_count,
            stored_count=source.stored_count,
            duplicate_count=source.duplicate_count,
        )


def config_class(kind: str) -> type[BaseModel] | None:
    """The connector's config model, or None for kinds without one (upload)."""
    if kind not in CONFIG_CLASSES:
        return None
    try:
        return load(kind, CONFIG_CLASSES).Config
    except (ConnectorConfigError, ImportError, AttributeError) as exc:
        raise SourceError("kind", f"mail sources of kind {kind!r} are not available") from exc


def _validated(kind: str, config: dict[str, Any], secret: str | None) -> dict[str, Any]:
    model = config_class(kind)
    secret_field = SECRET_FIELDS.get(kind)
    clean = {k: v for k, v in config.items() if k != secret_field}
    if model is None:
        return clean
    values = {**clean, secret_field: secret or _PLACEHOLDER} if secret_field else clean
    try:
        checked = model.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "config"
        raise SourceError(field, f"{field}: {first['msg']}") from None
    dumped = checked.model_dump(mode="json", exclude={secret_field} if secret_field else None)
    return {k: v for k, v in dumped.items() if k in clean}


def list_sources(session: Session) -> list[MailSource]:
    return list(session.scalars(select(MailSource).order_by(MailSource.name)))


def get_source(session: Session, source_id: int) -> MailSource:
    source = session.get(MailSource, source_id)
    if source is None:
        raise SourceNotFound(f"mail source {source_id} does not exist")
    return source


def _check_name(session: Session, name: str, own_id: int | None = None) -> str:
    name = name.strip()
    if not name or len(name) > 200:
        raise SourceError("name", "a name of 1 to 200 characters is required")
    clash = session.scalar(select(MailSource).where(func.lower(MailSource.name) == name.lower()))
    if clash is not None and clash.id != own_id:
        raise SourceError("name", f"a mail source named {clash.name!r} exists already")
    return name


def create_source(
    session: Session,
    box: SecretBox,
    *,
    kind: str,
    name: str,
    config: dict[str, Any],
    secret: str | None,
    enabled: bool = True,
    actor: str,
) -> MailSource:
    if kind not in KINDS:
        raise SourceError("kind", f"kind must be one of {', '.join(KINDS)}")
    if kind in SECRET_FIELDS and not secret:
        raise SourceError("secret", f"a {SECRET_FIELDS[kind].replace('_', ' ')} is required")
    source = MailSource(
        kind=kind,
        name=_check_name(session, name),
        enabled=enabled,
        config=_validated(kind, config, secret),
        secret=box.encrypt(secret) if secret and kind in SECRET_FIELDS else None,
        last_error="",
        fetched_count=0,
        stored_count=0,
        duplicate_count=0,
    )
    session.add(source)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="mail_source.create",
        subject=f"mail source {source.id}",
        details={"kind": kind, "name": source.name, "config": source.config},
    )
    return source


def update_source(
    session: Session,
    box: SecretBox,
    source_id: int,
    *,
    name: str | None = None,
    config: dict[str, Any] | None = None,
    secret: str | None = None,
    enabled: bool | None = None,
    actor: str,
) -> MailSource:
    """Change a source. `secret` None or "" keeps the stored secret."""
    source = get_source(session, source_id)
    changed: list[str] = []
    if name is not None and name.strip() != source.name:
        source.name = _check_name(session, name, source.id)
        changed.append("name")
    if config is not None:
        merged = _validated(source.kind, config, secret or None)
        if merged != source.config:
            source.config = merged
            # A different folder or mailbox makes the old watermark meaningless.
            source.watermark = None
            changed.append("config")
    if secret and source.kind in SECRET_FIELDS:
        source.secret = box.encrypt(secret)
        changed.append("secret")
    if enabled is not None and enabled != source.enabled:
        source.enabled = enabled
        changed.append("enabled")
    if changed:
        audit.record(
            session,
            actor=actor,
            action="mail_source.update",
            subject=f"mail source {source.id}",
            details={"changed": changed},
        )
    return source


def delete_source(session: Session, source_id: int, *, actor: str) -> None:
    """Stored mail stays (its source becomes empty)."""
    source = get_source(session, source_id)
    session.delete(source)
    audit.record(
        session,
        actor=actor,
        action="mail_source.delete",
        subject=f"mail source {source_id}",
        details={"name": source.name},
    )


def connector_for(source: MailSource, box: SecretBox, **options: Any) -> Any:
    """A connected-on-demand MailSource for a polled kind (imap, graph); `options` go to the
    connector (tests inject the Graph emulator's client and a token provider)."""
    if source.kind not in SOURCE_CLASSES:
        raise SourceError("kind", f"a {source.kind} source is not polled")
    cls = load(source.kind, SOURCE_CLASSES)
    secret_field = SECRET_FIELDS[source.kind]
    secret = box.decrypt(source.secret) if source.secret else ""
    config = cls.Config.model_validate({**(source.config or {}), secret_field: secret})
    return cls(config, **options)
