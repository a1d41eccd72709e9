"""A kind's connector fields, as its config model (``registry.config_model``) says: which are
secrets, where a secret travels (``secret_destination``), and the model's verdict on a set of
values, each problem at its field. A connection's settings, form and checks read the kind from
here, so a new kind brings no code of its own to them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr, ValidationError

from ticketbridge.connectors import registry
from ticketbridge.storage.models import PsaConnection
from ticketbridge.storage.secrets import SecretBox, SecretUnreadable


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


def secret_fields(kind: str) -> tuple[str, ...]:
    model = registry.config_model(kind)
    return tuple(name for name, info in model.model_fields.items() if _is_secret(info.annotation))


def connector_fields(kind: str) -> dict[str, Any]:
    """The kind's non-secret connector fields: name -> pydantic FieldInfo."""
    model = registry.config_model(kind)
    return {
        name: info for name, info in model.model_fields.items() if not _is_secret(info.annotation)
    }


def _is_secret(annotation: Any) -> bool:
    return annotation is SecretStr or SecretStr in getattr(annotation, "__args__", ())


def destination(kind: str, connector: Mapping[str, Any]) -> dict[str, object]:
    """Where the secrets go, as the kind's config model says (``secret_destination``); a kind
    that says nothing binds them to every connector field."""
    model = registry.config_model(kind)
    describe = getattr(model, "secret_destination", None)
    if describe is not None:
        return dict(describe(connector))
    return {name: connector.get(name) for name in connector_fields(kind)}


# Stands in for a stored secret while the connector settings are judged: the secret itself is
# never decrypted to validate a form.
_STORED = "stored-secret"
_ABSENT = ("missing", "string_too_short")


def connector_errors(
    kind: str, connector: Mapping[str, Any], *, secret_set: bool, enabled: bool
) -> list[FieldError]:
    """The kind's config model's verdict on these connector settings. While the connection is
    disabled, only values that are given and wrong count: what is missing is asked for when
    the connection is enabled."""
    model = registry.config_model(kind)
    values = {k: v for k, v in connector.items() if v is not None}
    if secret_set:
        values |= {name: _STORED for name in secret_fields(kind)}
    try:
        model.model_validate(values)
    except ValidationError as exc:
        errors = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "settings"
            absent = error["type"] in _ABSENT or field == "settings"
            if not enabled and absent:
                continue
            message = str(error["msg"]).removeprefix("Value error, ")
            if enabled and error["type"] in _ABSENT:
                message = "required to enable"
            errors.append(FieldError(field, message))
        return errors
    return []


def secrets(row: PsaConnection, box: SecretBox) -> dict[str, str]:
    """The connection's secrets in clear, for building its connector only. A ciphertext from
    before connections (one Autotask secret, as it was typed) is the kind's one secret field."""
    if not row.secret_encrypted:
        return {}
    text = box.decrypt(row.secret_encrypted)
    try:
        found = json.loads(text)
    except ValueError:
        found = None
    if isinstance(found, dict) and set(found) == {"secrets"} and isinstance(found["secrets"], dict):
        return {str(k): str(v) for k, v in found["secrets"].items()}
    names = secret_fields(row.kind)
    if len(names) != 1:
        raise SecretUnreadable("The stored secret does not fit this connection's kind.")
    return {names[0]: text}


def readable_secrets(row: PsaConnection, box: SecretBox) -> dict[str, str]:
    try:
        return secrets(row, box)
    except SecretUnreadable:
        return {}


def new_secrets(kind: str, changes: dict[str, Any]) -> dict[str, str]:
    found: dict[str, str] = {}
    for name in secret_fields(kind):
        value = changes.pop(name, None)
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if isinstance(value, str) and value.strip():
            found[name] = value.strip()
    return found
