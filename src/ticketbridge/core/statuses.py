"""Run statuses and how they rank against each other."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class RunStatus(StrEnum):
    SUCCESS = "success"
    WARNING = "warning"
    ERROR = "error"
    FAILED = "failed"
    MISSED = "missed"
    UNKNOWN = "unknown"

    @property
    def label(self) -> str:
        return self.value.capitalize()


# Worst first is what an operator scans for: a failed job outranks a missed report, which
# outranks an error, then a warning; "unknown" (a report we could not classify) sits above success
# so that it is never hidden behind a green cell.
_SEVERITY = {
    RunStatus.SUCCESS: 0,
    RunStatus.UNKNOWN: 1,
    RunStatus.WARNING: 2,
    RunStatus.ERROR: 3,
    RunStatus.MISSED: 4,
    RunStatus.FAILED: 5,
}


def severity(status: RunStatus) -> int:
    return _SEVERITY[status]


def worst(statuses: Iterable[RunStatus]) -> RunStatus | None:
    """The worst status of a set, or None when there is none (an empty dashboard cell)."""
    return max(statuses, key=severity, default=None)


class RunSource(StrEnum):
    API = "api"
    MAIL = "mail"
    DEMO = "demo"
    SCHEDULE = "schedule"  # a missed run: no report arrived within the grace window
