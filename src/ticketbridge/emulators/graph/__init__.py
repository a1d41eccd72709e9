"""An emulator of the Microsoft Graph mail calls and the Entra ID token endpoints ticketbridge
needs, written from the Graph and identity platform documentation. It shares no code with
:mod:`ticketbridge.connectors`; see docs/emulator-graph.md.

msal itself works against it: served over TLS (:mod:`.tls` makes a CA and a server
certificate), ``https://HOST:PORT/{tenant}`` is an authority msal accepts with
``instance_discovery=False``, and the tokens it issues are what the Graph calls require.
In-process tests may instead pass fixed ``tokens`` to `create_app`.
"""

from __future__ import annotations

from .app import DEFAULT_TOKEN, create_app
from .demo import (
    DEMO_AGENT,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_MAILBOX,
    DEMO_TENANT_DOMAIN,
    DEMO_TENANT_ID,
)
from .directory import AppRegistration, Tenant, User
from .state import GraphState

__all__ = [
    "DEFAULT_TOKEN",
    "DEMO_AGENT",
    "DEMO_CLIENT_ID",
    "DEMO_CLIENT_SECRET",
    "DEMO_MAILBOX",
    "DEMO_TENANT_DOMAIN",
    "DEMO_TENANT_ID",
    "AppRegistration",
    "GraphState",
    "Tenant",
    "User",
    "create_app",
]
