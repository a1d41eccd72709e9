"""An emulator of the Microsoft Graph mail calls a mail intake needs, written from the Graph
documentation. It shares no code with :mod:`ticketbridge.connectors`; see docs/mail-sources.md.

It validates bearer tokens but issues none: msal is not exercised against it (msal insists on an
https authority and discovers the tenant over the network), so connectors are given a token
provider that returns one of the emulator's tokens.
"""

from __future__ import annotations

from .app import DEFAULT_TOKEN, create_app
from .state import GraphState

__all__ = ["DEFAULT_TOKEN", "GraphState", "create_app"]
