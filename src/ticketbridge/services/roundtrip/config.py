"""Configuring the round trip: the extension callouts we accept and the round trip's settings.

A callout is received at ``<base URL>/hooks/autotask/callouts/<name>``; the admin copies that
URL, the user name and the password into Autotask's Extension Callout form. The password is
generated unless one is given, shown once, stored encrypted (SecretBox) and never shown again;
a new one can be set at any time. Everything here is audited as ``roundtrip.*``; nothing here
commits.
"""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ticketbridge.core.callouts import CalloutFormat
from ticketbridge.services.connections import settings as integration_settings
from ticketbridge.services.system import audit
from ticketbridge.storage.models import CalloutEndpoint, HookRequest, RoundtripState
from ticketbridge.storage.secrets import SecretBox, SecretUnreadable

HOOKS_PATH = "/hooks/autotask"
SUBJECT = "autotask round trip"
NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?")
USERNAME_MAX = 100
PASSWORD_MIN = 16
PASSWORD_MAX = 200
UDF_MAX = 255
ERROR_OUTCOMES = ("rejected", "unreadable", "unsupported", "failed")


class RoundtripNotFound(LookupError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RoundtripInputError(ValueError):
    """Invalid configuration; ``errors`` maps each field to what is wrong with it."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class CalloutView:
    """A configured callout as shown: never its password."""

    id: int
    name: str
    url: str
    username: str
    format: str
    udf_filter: str | None
    active: bool
    created_by: str
    created_at: datetime
    last_received_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None


def base_url(session: Session) -> str:
    return integration_settings.load(session).settings.base_url.rstrip("/")


def callout_url(base: str, name: str) -> str:
    return f"{base.rstrip('/')}{HOOKS_PATH}/callouts/{name}"


def webhook_urls(base: str, registration_id: int) -> tuple[str, str]:
    root = f"{base.rstrip('/')}{HOOKS_PATH}/webhooks/{registration_id}"
    return root, root + "/deactivated"


def state(session: Session) -> RoundtripState:
    """The one settings-and-watermark row, made on first use."""
    row = session.get(RoundtripState, 1)
    if row is None:
        row = RoundtripState(id=1, review_on_complete=False)
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:  # made meanwhile by another request
            row = session.get(RoundtripState, 1)
            assert row is not None
    return row


def set_review_on_complete(session: Session, value: bool, *, actor: str) -> None:
    row = state(session)
    if row.review_on_complete != value:
        row.review_on_complete = value
        audit.record(
            session, actor=actor, action="roundtrip.settings", subject=SUBJECT,
            details={"review_on_complete": value},
        )  # fmt: skip


# --- callouts ------------------------------------------------------------------------------


def _check(
    *, name: str | None, username: str, password: str | None, fmt: str, udf_filter: str | None
) -> dict[str, str]:
    errors: dict[str, str] = {}
    if name is not None and not NAME.fullmatch(name):
        errors["name"] = "lower-case letters, digits and dashes, 1 to 50, no dash at either end"
    if not username.strip() or len(username) > USERNAME_MAX or ":" in username:
        errors["username"] = f"1 to {USERNAME_MAX} characters, no colon"
    if password is not None and not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        errors["password"] = f"{PASSWORD_MIN} to {PASSWORD_MAX} characters"
    if fmt not in {f.value for f in CalloutFormat}:
        errors["format"] = "one of " + ", ".join(f.value for f in CalloutFormat)
    if udf_filter is not None and len(udf_filter) > UDF_MAX:
        errors["udf_filter"] = f"at most {UDF_MAX} characters"
    return errors


def new_password() -> str:
    return secrets.token_urlsafe(24)


def create_callout(
    session: Session,
    box: SecretBox,
    *,
    name: str,
    username: str,
    fmt: str,
    udf_filter: str | None,
    actor: str,
    now: datetime,
    password: str | None = None,
) -> tuple[CalloutEndpoint, str]:
    """The new callout and its password (shown once)."""
    name = name.strip().lower()
    password = password or new_password()
    errors = _check(name=name, username=username, password=password, fmt=fmt, udf_filter=udf_filter)
    if not errors and session.scalar(select(CalloutEndpoint).where(CalloutEndpoint.name == name)):
        errors["name"] = "a callout with this name exists"
    if errors:
        raise RoundtripInputError(errors)
    row = CalloutEndpoint(
        name=name,
        username=username.strip(),
        password_encrypted=box.encrypt(password),
        format=fmt,
        udf_filter=(udf_filter or "").strip() or None,
        active=True,
        created_by=actor,
        created_at=now,
    )
    session.add(row)
    session.flush()
    _audit(session, actor, "create", row)
    return row, password


def update_callout(
    session: Session,
    box: SecretBox,
    callout_id: int,
    *,
    actor: str,
    username: str | None = None,
    fmt: str | None = None,
    udf_filter: str | None = None,
    active: bool | None = None,
    password: str | None = None,
) -> CalloutEndpoint:
    """Change what is given; ``password`` sets a new one (``new_password()`` to generate)."""
    row = get_callout(session, callout_id)
    errors = _check(
        name=None,
        username=username if username is not None else row.username,
        password=password,
        fmt=fmt if fmt is not None else row.format,
        udf_filter=udf_filter,
    )
    if errors:
        raise RoundtripInputError(errors)
    if username is not None:
        row.username = username.strip()
    if fmt is not None:
        row.format = fmt
    if udf_filter is not None:
        row.udf_filter = udf_filter.strip() or None
    if active is not None:
        row.active = active
    if password is not None:
        row.password_encrypted = box.encrypt(password)
    _audit(session, actor, "update", row, credentials_changed=password is not None)
    return row


def delete_callout(session: Session, callout_id: int, *, actor: str) -> None:
    """Its received requests stay (they name it)."""
    row = get_callout(session, callout_id)
    _audit(session, actor, "delete", row)
    session.delete(row)


def get_callout(session: Session, callout_id: int) -> CalloutEndpoint:
    row = session.get(CalloutEndpoint, callout_id)
    if row is None:
        raise RoundtripNotFound(f"callout {callout_id} does not exist")
    return row


def callout_by_name(session: Session, name: str) -> CalloutEndpoint | None:
    return session.scalar(select(CalloutEndpoint).where(CalloutEndpoint.name == name.lower()))


def credentials_match(box: SecretBox, row: CalloutEndpoint, username: str, password: str) -> bool:
    """Both compared in constant time, both always compared."""
    try:
        stored = box.decrypt(row.password_encrypted)
    except SecretUnreadable:
        return False
    same_user = hmac.compare_digest(username.encode("utf-8"), row.username.encode("utf-8"))
    same_password = hmac.compare_digest(password.encode("utf-8"), stored.encode("utf-8"))
    return same_user & same_password


def list_callouts(session: Session, base: str) -> list[CalloutView]:
    rows = list(session.scalars(select(CalloutEndpoint).order_by(CalloutEndpoint.name)))
    views = []
    for row in rows:
        last = session.scalar(
            select(func.max(HookRequest.received_at)).where(
                HookRequest.channel == "callout", HookRequest.endpoint == row.name
            )
        )
        error = session.scalars(
            select(HookRequest)
            .where(
                HookRequest.channel == "callout",
                HookRequest.endpoint == row.name,
                HookRequest.outcome.in_(ERROR_OUTCOMES),
            )
            .order_by(HookRequest.id.desc())
            .limit(1)
        ).first()
        views.append(
            CalloutView(
                id=row.id,
                name=row.name,
                url=callout_url(base, row.name),
                username=row.username,
                format=row.format,
                udf_filter=row.udf_filter,
                active=row.active,
                created_by=row.created_by,
                created_at=row.created_at,
                last_received_at=last,
                last_error=f"{error.outcome}: {error.error or ''}".strip(": ") if error else None,
                last_error_at=error.received_at if error else None,
            )
        )
    return views


def _audit(session: Session, actor: str, verb: str, row: CalloutEndpoint, **extra: object) -> None:
    audit.record(
        session,
        actor=actor,
        action=f"roundtrip.callout.{verb}",
        subject=f"callout {row.name}",
        details={
            "name": row.name,
            "username": row.username,
            "format": row.format,
            "udf_filter": row.udf_filter,
            "active": row.active,
            **extra,
        },
    )
