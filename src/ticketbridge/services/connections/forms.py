"""The settings form of a connection kind, read from the kind's config model.

Every kind contributes its own connector fields (names, types, choices, defaults, which are
secret) through its config model; the admin page and the API render and describe them from
here, so adding a kind adds no form code.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import SecretStr
from pydantic_core import PydanticUndefined

from ticketbridge.connectors import registry
from ticketbridge.services.connections.settings import POLICY_FIELDS as POLICY_NAMES

FieldType = Literal["text", "secret", "choice", "number", "switch"]

# Tuning a person rarely changes; shown under "Advanced" rather than among the essentials.
ADVANCED = frozenset({"timeout_seconds", "create_timeout_seconds", "api_version"})


@dataclass(frozen=True)
class FormField:
    name: str
    # The form input's name: the field's own, or under "connector." where the ticket policy
    # has a field of that name (Jira's base_url).
    input_name: str
    label: str
    type: FieldType
    required: bool
    default: Any
    choices: tuple[str, ...] = ()
    description: str = ""
    advanced: bool = False


def form_fields(kind: str) -> list[FormField]:
    """The kind's connector fields, in the config model's order."""
    model = registry.config_model(kind)
    fields = []
    for name, info in model.model_fields.items():
        annotation, optional = _unwrap(info.annotation)
        default = None if info.default is PydanticUndefined else info.default
        choices: tuple[str, ...] = ()
        if annotation is SecretStr:
            kind_of: FieldType = "secret"
            default = None
        elif typing.get_origin(annotation) is Literal:
            kind_of = "choice"
            choices = tuple(str(a) for a in typing.get_args(annotation))
        elif annotation is bool:
            kind_of = "switch"
        elif annotation in (int, float):
            kind_of = "number"
        else:
            kind_of = "text"
        fields.append(
            FormField(
                name=name,
                input_name=f"connector.{name}" if name in POLICY_NAMES else name,
                label=name.replace("_", " ").capitalize(),
                type=kind_of,
                required=info.is_required() and not optional,
                default=default,
                choices=choices,
                description=info.description or "",
                advanced=name in ADVANCED,
            )
        )
    return fields


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """``X | None`` as (X, True); anything else as (it, False)."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return annotation, False


def kinds() -> list[str]:
    return sorted(registry.PSA_CONNECTORS)


def parse(field: FormField, raw: str) -> Any:
    """A posted form value as the config model takes it: empty is unset (a secret left empty
    keeps the stored one), a choice among numbers is a number."""
    text = raw.strip()
    if text == "":
        return None
    if field.type == "choice" and text.isdigit() and _numeric_choices(field):
        return int(text)
    return text


def _numeric_choices(field: FormField) -> bool:
    return bool(field.choices) and all(c.isdigit() for c in field.choices)
