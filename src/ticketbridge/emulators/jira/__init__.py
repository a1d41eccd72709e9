"""An emulator of the Jira Cloud REST API (v2 and v3), with a Data Center mode.

Written from the public REST documentation and shared/reference/jira-graph-sync.md; it
shares no code with :mod:`ticketbridge.connectors`. See docs/emulator-jira.md.
"""

from __future__ import annotations

from .app import Emulator, create_app
from .seed import AGENT_API_TOKEN, AGENT_EMAIL, AGENT_PAT, DEMO_API_TOKEN, DEMO_EMAIL, DEMO_PAT

__all__ = [
    "AGENT_API_TOKEN",
    "AGENT_EMAIL",
    "AGENT_PAT",
    "DEMO_API_TOKEN",
    "DEMO_EMAIL",
    "DEMO_PAT",
    "Emulator",
    "create_app",
]
