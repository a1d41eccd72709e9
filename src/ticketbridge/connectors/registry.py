"""Connector kinds and where their classes live, imported only when used.

The key is the integration's one name (habit 1): registry key, module, stored value, URL segment.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from ticketbridge.connectors.errors import ConnectorConfigError

PSA_CONNECTORS: dict[str, str] = {
    "autotask": "ticketbridge.connectors.psa.autotask.connector:AutotaskConnector",
    "jira": "ticketbridge.connectors.psa.jira.connector:JiraConnector",
}


def load(kind: str, registry: dict[str, str] | None = None) -> Any:
    """The class registered for ``kind``."""
    table = PSA_CONNECTORS if registry is None else registry
    try:
        module_name, _, attribute = table[kind].partition(":")
    except KeyError:
        raise ConnectorConfigError(f"Unknown connector kind: {kind!r}.") from None
    return getattr(import_module(module_name), attribute)
