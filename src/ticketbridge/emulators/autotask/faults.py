"""Fault injection: answers, latency and dropped connections on the next matching requests.

A fault matches by method and a path substring; ``count`` limits how many requests it hits
(``null`` = until cleared) and ``probability`` picks among matching requests with the seeded
RNG, so a run with the same seed drops the same requests. Discovery calls (zone, version) are
only hit when ``path_contains`` names them, so a cached zone lookup does not eat a fault.
Specs are validated by :class:`admin_input.FaultIn` before they get here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from random import Random
from typing import Any

from .admin_input import FaultIn
from .errors import ApiError

STATUS_BODIES: dict[int, Any] = {
    401: {"errors": ["Authentication failed"]},
    403: {"errors": ["The logged in Resource does not have the adequate permissions."]},
    404: {"errors": ["No matching records found."]},
    429: {"errors": ["API request threshold exceeded. Retry later."]},
    500: {"errors": ["An unexpected error has occurred. Please try again."]},
    502: "<html><body><h1>502 Bad Gateway</h1></body></html>",
    503: "<html><body><h1>Service Unavailable</h1></body></html>",
}


@dataclass
class Fault:
    id: int
    kind: str
    count: int | None = 1
    probability: float = 1.0
    status: int = 500
    seconds: float = 0.0
    retry_after: int | None = None
    when: str = "after_commit"
    methods: list[str] | None = None
    path_contains: str | None = None
    writes_only: bool | None = None
    body: Any = None
    hits: int = 0

    def matches(self, method: str, path: str, is_write: bool, discovery: bool) -> bool:
        if self.methods and method.upper() not in {m.upper() for m in self.methods}:
            return False
        if self.path_contains and self.path_contains.lower() not in path.lower():
            return False
        if discovery and not self.path_contains:
            return False
        writes_only = self.writes_only if self.writes_only is not None else self.kind == "drop"
        return not (writes_only and not is_write)

    def error(self) -> ApiError:
        body = (
            self.body
            if self.body is not None
            else STATUS_BODIES.get(self.status, {"errors": [f"Injected error {self.status}."]})
        )
        headers = {}
        if self.status in {429, 503}:
            headers["Retry-After"] = str(self.retry_after if self.retry_after is not None else 1)
        return ApiError(self.status, body, headers)


@dataclass
class FaultBook:
    rng: Random
    faults: list[Fault] = field(default_factory=list)
    next_id: int = 1

    def add(self, spec: FaultIn) -> Fault:
        values = spec.model_dump()
        # A dropped connection is interesting after the write; an error answer before it,
        # unless asked otherwise ("committed, then answered 500" is a real Autotask failure).
        if values["when"] is None:
            values["when"] = "after_commit" if spec.kind == "drop" else "before_commit"
        fault = Fault(id=self.next_id, **values)
        self.next_id += 1
        self.faults.append(fault)
        return fault

    def clear(self) -> None:
        self.faults.clear()

    def take(
        self,
        kind: str,
        method: str,
        path: str,
        is_write: bool,
        discovery: bool,
        when: str | None = None,
    ) -> list[Fault]:
        """Faults of ``kind`` that fire for this request (consuming their counts)."""
        fired: list[Fault] = []
        for fault in list(self.faults):
            if fault.kind != kind or (when and fault.when != when):
                continue
            if not fault.matches(method, path, is_write, discovery):
                continue
            if fault.probability < 1.0 and self.rng.random() >= fault.probability:
                continue
            fault.hits += 1
            if fault.count is not None:
                fault.count -= 1
                if fault.count <= 0:
                    self.faults.remove(fault)
            fired.append(fault)
            if kind != "latency":
                break
        return fired

    def to_json(self) -> list[dict[str, Any]]:
        return [asdict(f) for f in self.faults]
