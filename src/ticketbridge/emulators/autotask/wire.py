"""A request and a reply as the emulator's handlers see them (no framework types)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .errors import app_error

# Deeper JSON is refused before any handler walks it: the deepest body the API knows, a query
# filter nested MAX_FILTER_DEPTH levels (query.py), needs about twice that.
MAX_JSON_DEPTH = 100
INVALID_JSON_TEXT = "Invalid JSON in request body."
TOO_DEEP_TEXT = f"Invalid JSON in request body: nested deeper than {MAX_JSON_DEPTH} levels."


def json_depth(value: Any) -> int:
    """Nesting depth of a parsed JSON value (a scalar is 0), without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        depth += 1
        deepest = max(deepest, depth)
        if deepest > MAX_JSON_DEPTH:
            break
        stack.extend((child, depth) for child in children)
    return deepest


def parse_json(text: str | bytes, status: int = 500) -> Any:
    """Parse a request's JSON or raise the API's error (``status``, ``{"errors": [...]}``)."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise app_error(TOO_DEEP_TEXT, status=status) from None
    except ValueError:  # also bad UTF-8 and integers longer than Python converts
        raise app_error(INVALID_JSON_TEXT, status=status) from None
    if json_depth(value) > MAX_JSON_DEPTH:
        raise app_error(TOO_DEEP_TEXT, status=status)
    return value


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

    def json(self, status: int = 500) -> Any:
        if not self.body.strip():
            return None
        return parse_json(self.body, status)


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
