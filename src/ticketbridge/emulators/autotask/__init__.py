"""An emulator of the Autotask PSA REST API v1.0, written from the public API documentation.

It shares no code with :mod:`ticketbridge.connectors`; see docs/emulator-autotask.md.
"""

from __future__ import annotations

from .app import Emulator, create_app
from .auth import (
    DEMO_API_SECRET,
    DEMO_API_USER,
    DEMO_INTEGRATION_CODE,
    LIMITED_API_SECRET,
    LIMITED_API_USER,
    ApiUser,
)
from .errors import EmulatedConnectionDrop
from .seed_data import DEMO_COMPANY_NAMES, DEMO_CUSTOMERS
from .transport import InProcessTransport

__all__ = [
    "DEMO_API_SECRET",
    "DEMO_API_USER",
    "DEMO_COMPANY_NAMES",
    "DEMO_CUSTOMERS",
    "DEMO_INTEGRATION_CODE",
    "LIMITED_API_SECRET",
    "LIMITED_API_USER",
    "ApiUser",
    "EmulatedConnectionDrop",
    "Emulator",
    "InProcessTransport",
    "create_app",
]
