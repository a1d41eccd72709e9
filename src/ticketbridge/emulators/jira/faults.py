"""Injected faults (status answers on the next matching requests) and the burst rate limit."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from .errors import JiraError, bad_request

BODIES = {
    401: {
        "errorMessages": [
            "You are not authenticated. Authentication required to perform this operation."
        ],
        "errors": {},
    },
    429: {"errorMessages": ["Rate limit exceeded."], "errors": {}},
    500: {"errorMessages": ["Internal server error"], "errors": {}},
    503: {"errorMessages": ["Service Unavailable"], "errors": {}},
}


@dataclass
class Fault:
    id: int
    status: int = 503
    count: int | None = 1  # None: until cleared
    path_contains: str | None = None
    methods: list[str] | None = None
    retry_after: int | None = None
    body: Any = None
    hits: int = 0

    @classmethod
    def from_spec(cls, spec: Any, fault_id: int) -> Fault:
        if not isinstance(spec, dict) or not set(spec) <= {
            "status",
            "count",
            "path_contains",
            "methods",
            "retry_after",
            "body",
        }:
            raise bad_request("fault: status, count, path_contains, methods, retry_after, body")
        status = spec.get("status", 503)
        count = spec.get("count", 1)
        if not isinstance(status, int) or not 400 <= status <= 599:
            raise bad_request("status must be an HTTP error status (400-599)")
        if count is not None and (not isinstance(count, int) or count < 1):
            raise bad_request("count must be a positive integer or null")
        return cls(id=fault_id, **{k: v for k, v in spec.items() if k != "id"})

    def matches(self, method: str, path: str) -> bool:
        if self.methods and method.upper() not in {m.upper() for m in self.methods}:
            return False
        return not self.path_contains or self.path_contains in path

    def error(self) -> JiraError:
        headers = {}
        retry_after = self.retry_after
        if retry_after is None and self.status == 429:
            retry_after = 1
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        body = (
            self.body
            if self.body is not None
            else BODIES.get(
                self.status, {"errorMessages": [f"Injected error {self.status}"], "errors": {}}
            )
        )
        return JiraError(self.status, headers=headers, body=body)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RateLimit:
    """At most ``max_requests`` in any ``per_seconds`` window, then 429 until one ages out."""

    max_requests: int
    per_seconds: float
    seen: list[float] = field(default_factory=list)

    @classmethod
    def from_spec(cls, spec: Any) -> RateLimit:
        try:
            limit = cls(int(spec["max_requests"]), float(spec["per_seconds"]))
        except (KeyError, TypeError, ValueError):
            raise bad_request("rate-limit: {max_requests: int, per_seconds: number}") from None
        if limit.max_requests < 1 or limit.per_seconds <= 0:
            raise bad_request("max_requests and per_seconds must be positive")
        return limit

    def admit(self, now: float, reset_text: str) -> None:
        self.seen = [t for t in self.seen if t > now - self.per_seconds]
        if len(self.seen) >= self.max_requests:
            wait = max(1, math.ceil(self.seen[0] + self.per_seconds - now))
            raise JiraError(
                429,
                headers={
                    "Retry-After": str(wait),
                    "X-RateLimit-Limit": str(self.max_requests),
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": reset_text,
                    "RateLimit-Reason": "jira-burst-based",
                },
                body=BODIES[429],
            )
        self.seen.append(now)
