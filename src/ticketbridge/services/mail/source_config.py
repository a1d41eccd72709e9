"""A mail source's config checked against its connector's model, and the settings that bind its
secret: what is stored of a form or a command line (only the settings given, the secret left
out), every problem at its field, and where a config sends its secret (core/secret_binding.py).
services/mail/sources.py stores sources with these.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from ticketbridge.connectors.errors import ConnectorConfigError
from ticketbridge.connectors.registry import load

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
# The settings that say where a source's secret goes and whose it is; a change of any of them
# clears the stored secret unless a new one comes with it (core/secret_binding.py).
# - IMAP: the password is sent to host:port (the effective port: 993 or 143 when none is set),
#   over the channel `security` and `verify_tls` choose (switching to STARTTLS, or turning
#   certificate checks off, changes who can read it), and belongs to `username`.
# - Graph: the client secret is sent to `authority_url` for tokens that `graph_url` accepts; it
#   belongs to the app `client_id` of `tenant_id`, and `mailbox` is what it is used to read (an
#   app secret usually reads every mailbox of a tenant: pointing it at another one is a new use).
# - SMTP and upload sources have no secret. Folders, batch sizes and timeouts bind nothing.
SECRET_BINDING: dict[str, tuple[str, ...]] = {
    "imap": ("host", "port", "security", "verify_tls", "username"),
    "graph": ("tenant_id", "client_id", "mailbox", "authority_url", "graph_url"),
}
# Stands in for a kept secret while the rest of the config is validated.
_PLACEHOLDER = "x" * 12
# A connector's checks across fields (model validators) name no field: shown at this one.
_CROSS_FIELD_CHECKS = {"loopback": "security", "processed folder": "processed_folder"}


class SourceError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class FieldProblem:
    field: str
    message: str


class SourceInvalid(SourceError):
    """Everything wrong with a source at once, each problem at its field."""

    def __init__(self, problems: Sequence[FieldProblem]) -> None:
        super().__init__(problems[0].field, "; ".join(f"{p.field}: {p.message}" for p in problems))
        self.problems = list(problems)


def config_class(kind: str) -> type[BaseModel] | None:
    """The connector's config model, or None for kinds without one (upload)."""
    if kind not in CONFIG_CLASSES:
        return None
    try:
        return load(kind, CONFIG_CLASSES).Config
    except (ConnectorConfigError, ImportError, AttributeError) as exc:
        raise SourceError("kind", f"mail sources of kind {kind!r} are not available") from exc


def secret_required(kind: str) -> bool:
    """Whether a source of this kind needs its secret: a Microsoft 365 source does not, when
    its mailbox's user signs in with a device code instead (the connector's model says so)."""
    model = config_class(kind)
    secret_field = SECRET_FIELDS.get(kind)
    if model is None or secret_field is None:
        return False
    return model.model_fields[secret_field].is_required()


def _problems_of(exc: ValidationError) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    for error in exc.errors():
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "missing":
            message = "required"
        field = str(error["loc"][0]) if error["loc"] else ""
        if not field:
            field = next((f for k, f in _CROSS_FIELD_CHECKS.items() if k in message), "config")
        if all(p.field != field for p in problems):  # one message a field is enough
            problems.append(FieldProblem(field, message))
    return problems


def check_config(
    kind: str, config: dict[str, Any], secret: str | None
) -> tuple[dict[str, Any], list[FieldProblem]]:
    """The config to store (only the settings given, the secret left out) and every problem
    the connector's model finds, all at once."""
    model = config_class(kind)
    secret_field = SECRET_FIELDS.get(kind)
    clean = {k: v for k, v in config.items() if k != secret_field}
    if model is None:
        return clean, []
    values = {**clean, secret_field: secret or _PLACEHOLDER} if secret_field else clean
    try:
        checked = model.model_validate(values)
    except ValidationError as exc:
        return clean, _problems_of(exc)
    dumped = checked.model_dump(mode="json", exclude={secret_field} if secret_field else None)
    return {k: v for k, v in dumped.items() if k in clean}, []


def destination(kind: str, config: dict[str, Any]) -> dict[str, object]:
    """The binding settings of a config, defaults filled in (a missing port is the port the
    connector will use), for comparing before and after a change."""
    binding = SECRET_BINDING.get(kind, ())
    model = config_class(kind)
    values: dict[str, object] = {name: config.get(name) for name in binding}
    if model is None or not binding:
        return values
    try:
        checked = model.model_validate({**config, SECRET_FIELDS[kind]: _PLACEHOLDER})
    except ValidationError:
        return values  # a stored config that no longer validates: compare what is there
    values = {name: getattr(checked, name, None) for name in binding}
    if "port" in values:
        values["port"] = getattr(checked, "effective_port", values["port"])
    return values
