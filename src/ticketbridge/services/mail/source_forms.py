"""The form of each kind of mail source, read from its connector's config model.

Every field of the model (connectors/mail/<kind>.py, `Config`) becomes one input, by its type: a
choice for a Literal, a checkbox for a bool, a number, lines for a list of strings, text, and the
write-only secret (a SecretStr), which is never filled in: the form says whether one is stored.
A new connector setting therefore shows up in the form without touching it. What an admin typed
comes back as typed when something is refused, so nothing has to be entered twice.

Form inputs are named ``config.<field>``; ``config_from_form`` turns them into the config dict the
model validates (services/mail_sources.py), leaving empty inputs out so the defaults apply.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import SecretStr
from pydantic_core import PydanticUndefined

from ticketbridge.services.mail.source_config import config_class

PREFIX = "config."
KIND_TITLES = {
    "imap": "IMAP mailbox",
    "graph": "Microsoft 365 mailbox (Graph)",
    "smtp": "SMTP receiver",
    "upload": "Upload and import",
}
KIND_NOTES = {
    "imap": "Polled every minute (or at once through IDLE). Exchange Online needs the "
    "Microsoft 365 kind instead.",
    "graph": "An app registration with the application permission Mail.ReadWrite and admin "
    "consent; calls read /users/{mailbox}.",
    "smtp": "Backup products send straight to ticketbridge. Bind to loopback or an internal "
    "network behind your MTA; restart serve after a change.",
    "upload": "Stands for mail uploaded in the Inbox or imported with `ticketbridge mail "
    "import`: there is nothing to configure.",
}
_LABELS = {
    "host": "Host",
    "port": "Port",
    "security": "Security",
    "verify_tls": "Verify the TLS certificate",
    "username": "User name",
    "password": "Password",
    "folder": "Folder",
    "processed_folder": "Processed folder",
    "processed_parent": "Parent of the processed folder",
    "batch_size": "Messages per batch",
    "max_batch_bytes": "Bytes per batch",
    "timeout_seconds": "Timeout (seconds)",
    "poll_interval_seconds": "Poll interval (seconds)",
    "tenant_id": "Tenant ID",
    "client_id": "Client (application) ID",
    "client_secret": "Client secret",
    "mailbox": "Mailbox",
    "authority_url": "Authority URL",
    "graph_url": "Graph URL",
    "page_size": "Page size",
    "max_messages": "Messages per poll",
    "max_message_bytes": "Largest message (bytes)",
    "accepted_recipients": "Accepted recipients",
    "hostname": "Host name in the greeting",
}
_HELP = {
    ("imap", "port"): "empty: 993 with TLS, else 143",
    ("imap", "security"): "plain (no TLS) only to a loopback address",
    ("imap", "verify_tls"): "turn off only for a server with a self-signed certificate",
    ("imap", "processed_folder"): "created when missing; must differ from the folder",
    ("graph", "client_secret"): "empty for a delegated mailbox: sign its user in with "
    "`ticketbridge mailbox authenticate NAME --device-code`",
    ("graph", "authority_url"): "change only for a national cloud",
    ("graph", "graph_url"): "change only for a national cloud",
    ("smtp", "host"): "the address to listen on",
    ("smtp", "port"): "0 picks a free port",
    ("smtp", "accepted_recipients"): "one a line: intake@example.com, @example.com (a whole "
    "domain) or *",
    ("smtp", "hostname"): "empty: this machine's name",
}
# Settings most sources never change: shown folded away unless one of them is refused.
ADVANCED = frozenset(
    {
        "batch_size",
        "max_batch_bytes",
        "timeout_seconds",
        "poll_interval_seconds",
        "processed_parent",
        "authority_url",
        "graph_url",
        "page_size",
        "max_messages",
        "hostname",
    }
)

InputKind = Literal["text", "number", "choice", "check", "lines", "secret"]


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    input: InputKind
    required: bool
    default: str  # as the form shows it; "" when there is none
    choices: tuple[str, ...] = ()
    help: str = ""
    advanced: bool = False

    @property
    def input_name(self) -> str:
        return PREFIX + self.name


def _shown(value: Any) -> str:
    if value is None or value is PydanticUndefined:
        return ""
    if isinstance(value, bool):
        return "true" if value else ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | tuple):
        return "\n".join(str(item) for item in value)
    return str(value)


def _input_of(annotation: Any) -> tuple[InputKind, tuple[str, ...]]:
    args = get_args(annotation)
    if get_origin(annotation) in (Union, types.UnionType):
        annotation = next(arg for arg in args if arg is not type(None))
        args = get_args(annotation)
    if annotation is SecretStr:
        return "secret", ()
    if annotation is bool:
        return "check", ()
    if annotation in (int, float):
        return "number", ()
    if get_origin(annotation) is Literal:
        return "choice", tuple(str(arg) for arg in args)
    if get_origin(annotation) is list:
        return "lines", ()
    return "text", ()


def fields_of(kind: str) -> list[FormField]:
    """The inputs of a kind's form, in the model's order; none for kinds without a model."""
    model = config_class(kind)
    if model is None:
        return []
    fields = []
    for name, info in model.model_fields.items():
        kind_of_input, choices = _input_of(info.annotation)
        fields.append(
            FormField(
                name=name,
                label=_LABELS.get(name, name.replace("_", " ").capitalize()),
                input=kind_of_input,
                required=info.is_required(),
                default=_shown(info.default),
                choices=choices,
                help=_HELP.get((kind, name), info.description or ""),
                advanced=name in ADVANCED,
            )
        )
    return fields


def secret_field(kind: str) -> FormField | None:
    return next((f for f in fields_of(kind) if f.input == "secret"), None)


def values_of(kind: str, config: Mapping[str, Any] | None) -> dict[str, str]:
    """What the form shows for a stored config (or a new source: the defaults)."""
    stored = config or {}
    return {
        f.name: _shown(stored.get(f.name)) if f.name in stored else f.default
        for f in fields_of(kind)
        if f.input != "secret"
    }


def typed_values(kind: str, form: Mapping[str, Any]) -> dict[str, str]:
    """What was typed into the form, as typed (the secret never comes back)."""
    values = {}
    for f in fields_of(kind):
        if f.input == "secret":
            continue
        raw = form.get(f.input_name)
        values[f.name] = ("true" if raw else "") if f.input == "check" else str(raw or "")
    return values


def config_from_form(kind: str, form: Mapping[str, Any]) -> dict[str, Any]:
    """The config a form stands for. An empty input is left out, so its default applies (or
    the model says it is required); a checkbox left empty is off."""
    config: dict[str, Any] = {}
    for f in fields_of(kind):
        raw = form.get(f.input_name)
        if f.input == "secret":
            continue
        if f.input == "check":
            config[f.name] = bool(raw)
            continue
        text = str(raw or "").strip()
        if f.input == "lines":
            items = [item.strip() for item in text.replace(",", "\n").splitlines()]
            if any(items):
                config[f.name] = [item for item in items if item]
        elif text:
            config[f.name] = text
    return config
