"""Mail sources an admin configures: IMAP and Microsoft Graph mailboxes, the SMTP receiver.

The config is stored as JSON without its secret; the secret (IMAP password, Graph client secret)
is encrypted at rest with the installation's key and never rendered, logged or returned: views
only say whether one is set. An update with an empty secret keeps the stored one, unless it
points the source at another destination (core/secret_binding.py): then the stored secret is
cleared, and the source polls nothing until a secret is entered for the new destination.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ticketbridge.connectors.registry import load
from ticketbridge.core.names import problem
from ticketbridge.core.secret_binding import changed_destination, fields_clearing_secret
from ticketbridge.services.mail.source_config import (
    SECRET_BINDING,
    SECRET_FIELDS,
    SOURCE_CLASSES,
    FieldProblem,
    SourceError,
    SourceInvalid,
    check_config,
    destination,
    secret_required,
)
from ticketbridge.services.system import audit
from ticketbridge.storage.db import add_or_rename
from ticketbridge.storage.models import MailSource
from ticketbridge.storage.models.mail import SOURCE_KEY_LENGTH
from ticketbridge.storage.secrets import SecretBox

KINDS = ("imap", "graph", "smtp", "upload")
POLLED = ("imap", "graph")


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


def _name_problem(session: Session, name: str, own_id: int | None = None) -> list[FieldProblem]:
    try:
        _check_name(session, name, own_id)
    except SourceError as exc:
        return [FieldProblem(exc.field, str(exc))]
    return []


def list_sources(session: Session) -> list[MailSource]:
    return list(session.scalars(select(MailSource).order_by(MailSource.name)))


def get_source(session: Session, source_id: int) -> MailSource:
    source = session.get(MailSource, source_id)
    if source is None:
        raise SourceNotFound(f"mail source {source_id} does not exist")
    return source


def _check_name(session: Session, name: str, own_id: int | None = None) -> str:
    """The name to store; refused when empty, too long, holding invisible or control characters,
    or another source's name once normalised (core/names.py)."""
    name = name.strip()
    if not name or len(name) > 200:
        raise SourceError("name", "a name of 1 to 200 characters is required")
    trouble = problem(name, key_length=SOURCE_KEY_LENGTH)
    if trouble:
        raise SourceError("name", trouble)
    clash = session.scalar(
        select(MailSource).where(MailSource.name_key == MailSource.key_for(name))
    )
    if clash is not None and clash.id != own_id:
        raise SourceError("name", f"a mail source named {clash.name!r} exists already")
    return name


def _write_name(session: Session, source: MailSource, name: str) -> None:
    if not add_or_rename(session, source, name):
        raise SourceError("name", f"a mail source named {name!r} exists already")


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
    problems = _name_problem(session, name)
    if kind in SECRET_FIELDS and not secret and secret_required(kind):
        label = SECRET_FIELDS[kind].replace("_", " ")
        problems.append(FieldProblem("secret", f"a {label} is required"))
    clean, config_problems = check_config(kind, config, secret)
    if problems or config_problems:
        raise SourceInvalid(problems + config_problems)
    source = MailSource(
        kind=kind,
        name=_check_name(session, name),
        enabled=enabled,
        config=clean,
        secret=box.encrypt(secret) if secret and kind in SECRET_FIELDS else None,
        last_error="",
        fetched_count=0,
        stored_count=0,
        duplicate_count=0,
    )
    _write_name(session, source, source.name)
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
    """Change a source. `secret` None or "" keeps the stored secret, unless the change points
    the source at another destination (SECRET_BINDING): then the stored secret is cleared and
    an audit event says so."""
    source = get_source(session, source_id)
    changed: list[str] = []
    cleared: tuple[str, ...] = ()
    renamed = name is not None and name.strip() != source.name
    problems = _name_problem(session, name, source.id) if name is not None and renamed else []
    merged: dict[str, Any] | None = None
    if config is not None:
        merged, config_problems = check_config(source.kind, config, secret or None)
        problems += config_problems
    if problems:
        raise SourceInvalid(problems)
    if name is not None and renamed:
        _write_name(session, source, _check_name(session, name, source.id))
        changed.append("name")
    if merged is not None and merged != source.config:
        cleared = fields_clearing_secret(
            destination(source.kind, source.config or {}),
            destination(source.kind, merged),
            SECRET_BINDING.get(source.kind, ()),
            new_secret=bool(secret),
        )
        source.config = merged
        # A different folder or mailbox makes the old watermark meaningless.
        source.watermark = None
        changed.append("config")
    if secret and source.kind in SECRET_FIELDS:
        source.secret = box.encrypt(secret)
        changed.append("secret")
    elif cleared and source.secret:
        source.secret = None
        changed.append("secret")
        audit.record(
            session,
            actor=actor,
            action="mail_source.secret_cleared",
            subject=f"mail source {source.id}",
            details={
                "reason": "the destination changed and no new secret came with the change",
                "fields": list(cleared),
            },
        )
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


def stored_secret_for(
    box: SecretBox, source: MailSource | None, config: dict[str, Any]
) -> str | None:
    """The stored secret, for a connection test of `config` (a form not saved yet): only while
    the config still points where the secret was entered for (core/secret_binding.py)."""
    if source is None or not source.secret or source.kind not in SECRET_FIELDS:
        return None
    before = destination(source.kind, source.config or {})
    after = destination(source.kind, config)
    if changed_destination(before, after, SECRET_BINDING[source.kind]):
        return None
    return box.decrypt(source.secret)


def connector_for(
    source: MailSource,
    box: SecretBox,
    *,
    factory: sessionmaker[Session] | None = None,
    classes: dict[str, str] = SOURCE_CLASSES,
    **options: Any,
) -> Any:
    """A connected-on-demand MailSource for a polled kind (imap, graph), or the kind's class in
    `classes` (its change-notification subscriptions); `options` go to the connector (tests
    inject the Graph emulator's client and a token provider). A source with a delegated
    sign-in gets its stored token cache, written back through `factory` when msal renews it
    (services/mail/mailbox_auth.py)."""
    if source.kind not in SOURCE_CLASSES or source.kind not in classes:
        raise SourceError("kind", f"a {source.kind} source is not polled")
    cls = load(source.kind, classes)
    config = config_for(source, box)
    if source.token_cache and "token_provider" not in options:
        from ticketbridge.services.mail.mailbox_auth import StoredTokenCache

        options.setdefault("token_cache", StoredTokenCache.of(source, box, factory))
    return cls(config, **options)


def config_for(source: MailSource, box: SecretBox) -> Any:
    """The connector's config of a polled source, its secret decrypted."""
    if source.kind not in SOURCE_CLASSES:
        raise SourceError("kind", f"a {source.kind} source is not polled")
    secret_field = SECRET_FIELDS[source.kind]
    if not source.secret and secret_required(source.kind):
        # Cleared by a change of destination (or never set): nothing is sent anywhere.
        label = secret_field.replace("_", " ")
        raise SourceError("secret", f"the {label} is not set: enter it for this source")
    values = dict(source.config or {})
    if source.secret:
        values[secret_field] = box.decrypt(source.secret)
    return load(source.kind, SOURCE_CLASSES).Config.model_validate(values)


def find_source(session: Session, name: str) -> MailSource:
    """The source of that name (as names compare: core/names.py)."""
    key = MailSource.key_for(name)
    found = session.scalar(select(MailSource).where(MailSource.name_key == key))
    if found is None:
        raise SourceNotFound(f"there is no mail source named {name!r}")
    return found
