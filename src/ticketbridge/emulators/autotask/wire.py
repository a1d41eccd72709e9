"""A request and a reply as the emulator's handlers see them (no framework types)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .errors import app_error


@dataclass
class Call:
    method: str
    path: str  # without root_path
    segments: list[str]  # path split on "/", original case
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    base_url: str  # scheme://host[:port][root_path], no trailing slash
    url_length: int = 0

    def json(self) -> Any:
        if not self.body.strip():
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            raise app_error("Invalid JSON in request body.") from None


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json; charset=utf-8"

    def encode(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        if self.body is None:
            return b""
        return json.dumps(self.body, separators=(",", ":")).encode()
