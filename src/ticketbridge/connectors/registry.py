"""Connector kinds and where their classes live, imported only when used.

The key is the integration's one name (habit 1): registry key, module, stored value, URL segment.

Services reach a PSA through this module alone: :func:`load` gives the kind's connector class
(its ``Config`` is the kind's config model), and :func:`capability` the kind's extras beyond
the PsaConnector protocol, named in ``connectors/psa/capabilities.py``. Nothing here imports a
connector until it is asked for, so services never depend on a concrete one.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any, cast

from pydantic import BaseModel

from ticketbridge.connectors.errors import ConnectorConfigError
from ticketbridge.connectors.psa.capabilities import (
    Attachments,
    DeskTarget,
    Notes,
    RoundTripRemote,
    SenderCompany,
    SyncHooks,
    TicketFieldLengths,
    TicketQuery,
    TicketUpdates,
)

PSA_CONNECTORS: dict[str, str] = {
    "autotask": "ticketbridge.connectors.psa.autotask.connector:AutotaskConnector",
    "jira": "ticketbridge.connectors.psa.jira.connector:JiraConnector",
}

# Each kind's capabilities beyond the protocol: name -> "module:attribute" (or a module).
_AUTOTASK = "ticketbridge.connectors.psa.autotask"
_JIRA = "ticketbridge.connectors.psa.jira"
PSA_CAPABILITIES: dict[str, dict[str, str]] = {
    "autotask": {
        "cache": f"{_AUTOTASK}.client:AutotaskCache",
        "governor_key": f"{_AUTOTASK}.capabilities:governor_key",
        "ticket_fields": f"{_AUTOTASK}.capabilities:ticket_fields",
        "ticket_url": f"{_AUTOTASK}.capabilities:ticket_url",
        "roundtrip": f"{_AUTOTASK}.roundtrip",
        "attachments": f"{_AUTOTASK}.attachments",
        "notes": f"{_AUTOTASK}.notes",
        "ticket_updates": f"{_AUTOTASK}.updates",
        "desk_target": f"{_AUTOTASK}.capabilities:DESK_TARGET",
        "sender_company": f"{_AUTOTASK}.people",
    },
    "jira": {
        "cache": f"{_JIRA}.projects:JiraCache",
        "ticket_fields": f"{_JIRA}.capabilities:ticket_fields",
        "ticket_url": f"{_JIRA}.capabilities:ticket_url",
        "attachments": f"{_JIRA}.attachments",
        "notes": f"{_JIRA}.notes",
        "ticket_updates": f"{_JIRA}.updates",
        "desk_target": f"{_JIRA}.capabilities:DESK_TARGET",
        "sync_hooks": f"{_JIRA}.webhooks",
        "ticket_query": f"{_JIRA}.ticket_query",
    },
}


def _resolve(path: str) -> Any:
    module_name, _, attribute = path.partition(":")
    module = import_module(module_name)
    return getattr(module, attribute) if attribute else module


def load(kind: str, registry: dict[str, str] | None = None) -> Any:
    """The class registered for ``kind``."""
    table = PSA_CONNECTORS if registry is None else registry
    try:
        path = table[kind]
    except KeyError:
        raise ConnectorConfigError(f"Unknown connector kind: {kind!r}.") from None
    return _resolve(path)


def config_model(kind: str) -> type[BaseModel]:
    """The kind's per-connection config model (its connector's nested ``Config``)."""
    return cast(type[BaseModel], load(kind).Config)


def capability(kind: str, name: str) -> Any:
    """The kind's capability ``name``; ConnectorConfigError when the kind has none."""
    try:
        path = PSA_CAPABILITIES.get(kind, {})[name]
    except KeyError:
        raise ConnectorConfigError(f"The {kind!r} connector offers no {name}.") from None
    return _resolve(path)


def new_cache(kind: str) -> object:
    """A fresh per-process cache for the kind's connectors."""
    return capability(kind, "cache")()


def governor_key(kind: str) -> Callable[[Any], tuple[str, ...]]:
    return cast(Callable[[Any], tuple[str, ...]], capability(kind, "governor_key"))


def ticket_fields(kind: str) -> Callable[[Any], TicketFieldLengths]:
    """The kind's ticket field lengths; all unknown for a kind that does not declare them."""
    if "ticket_fields" not in PSA_CAPABILITIES.get(kind, {}):
        return lambda connector: TicketFieldLengths()
    return cast(Callable[[Any], TicketFieldLengths], capability(kind, "ticket_fields"))


def ticket_url(kind: str) -> Callable[[Any, int], str | None]:
    """The kind's ticket page; None for a kind that does not declare one."""
    if "ticket_url" not in PSA_CAPABILITIES.get(kind, {}):
        return lambda connector, ticket_id: None
    return cast(Callable[[Any, int], str | None], capability(kind, "ticket_url"))


def roundtrip(kind: str) -> RoundTripRemote:
    return cast(RoundTripRemote, capability(kind, "roundtrip"))


def attachments(kind: str) -> Attachments:
    """The kind's ticket files; ConnectorConfigError for a kind that has none."""
    return cast(Attachments, capability(kind, "attachments"))


def notes(kind: str) -> Notes:
    """The kind's ticket notes, read back; ConnectorConfigError for a kind that has none."""
    return cast(Notes, capability(kind, "notes"))


def ticket_updates(kind: str) -> TicketUpdates:
    """The kind's ticket updates; ConnectorConfigError for a kind that has none."""
    return cast(TicketUpdates, capability(kind, "ticket_updates"))


def desk_target(kind: str) -> DeskTarget | None:
    """How the kind takes service-desk mail; None for a kind that cannot."""
    if "desk_target" not in PSA_CAPABILITIES.get(kind, {}):
        return None
    return cast(DeskTarget, capability(kind, "desk_target"))


def sync_hooks(kind: str) -> SyncHooks | None:
    """How the kind's change webhooks are checked and read; None for a kind without one."""
    if "sync_hooks" not in PSA_CAPABILITIES.get(kind, {}):
        return None
    return cast(SyncHooks, capability(kind, "sync_hooks"))


def kinds_with(name: str) -> list[str]:
    """The kinds declaring capability ``name``, by name."""
    return sorted(kind for kind, offered in PSA_CAPABILITIES.items() if name in offered)


def ticket_query(kind: str) -> TicketQuery | None:
    """How the kind narrows its changed tickets by a query; None for a kind without one."""
    if "ticket_query" not in PSA_CAPABILITIES.get(kind, {}):
        return None
    return cast(TicketQuery, capability(kind, "ticket_query"))


def sender_company(kind: str) -> SenderCompany | None:
    """How the kind finds a sender's company; None for a kind without companies to find."""
    if "sender_company" not in PSA_CAPABILITIES.get(kind, {}):
        return None
    return cast(SenderCompany, capability(kind, "sender_company"))
