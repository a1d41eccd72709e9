"""A request and a reply as the handlers see them (no framework types)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .errors import JiraError
from .refdata import View


@dataclass
class Req:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]  # lower-case names
    body: bytes
    view: View
    params: dict[str, str] = field(default_factory=dict)  # path parameters

    def arg(self, name: str, default: str | None = None) -> str | None:
        for key, value in self.query:
            if key == name:
                return value
        return default

    def args(self, name: str) -> list[str]:
        """Every value of a repeated parameter (the jira package repeats ``fields=``)."""
        return [value for key, value in self.query if key == name]

    def int_arg(self, name: str, default: int) -> int:
        raw = self.arg(name)
        if raw is None or raw == "":
            return default
        try:
            return int(raw)
        except ValueError:
            raise JiraError(
                400, [f"The value '{raw}' is invalid for parameter '{name}'."]
            ) from None

    def json(self) -> Any:
        if not self.body.strip():
            raise JiraError(400, ["No content to map due to end-of-input"])
        try:
            return json.loads(self.body)
        except ValueError:
            raise JiraError(
                400, ["Unexpected character in the request body: not valid JSON."]
            ) from None

    def json_object(self) -> dict[str, Any]:
        value = self.json()
        if not isinstance(value, dict):
            raise JiraError(400, ["Can not deserialize the request body: an object was expected."])
        return value

    @property
    def user(self) -> dict[str, Any]:
        assert self.view.user is not None
        return self.view.user


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json;charset=UTF-8"

    def encode(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        if self.body is None:
            return b""
        return json.dumps(self.body, separators=(",", ":")).encode()


NO_CONTENT = Reply(204)
