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


# Worst first, the order an operator scans in (issue 11): a failed job, then an error, then a
# report that never came (missed), then a warning; "unknown" (a report we could not classify)
# sits above success so that it is never hidden behind a green cell. Every order and colour of
# a status (Run Checks, the Dashboard's cells and legend, a ticket's object list) comes from here.
WORST_FIRST: tuple[RunStatus, ...] = (
    RunStatus.FAILED,
    RunStatus.ERROR,
    RunStatus.MISSED,
    RunStatus.WARNING,
    RunStatus.UNKNOWN,
    RunStatus.SUCCESS,
)
_SEVERITY = {status: len(WORST_FIRST) - place for place, status in enumerate(WORST_FIRST)}


def severity(status: RunStatus) -> int:
    """Higher is worse."""
    return _SEVERITY[status]


def worst(statuses: Iterable[RunStatus]) -> RunStatus | None:
    """The worst status of a set, or None when there is none (an empty dashboard cell)."""
    return max(statuses, key=severity, default=None)


def worst_first(statuses: Iterable[RunStatus]) -> list[RunStatus]:
    """The distinct statuses of a set, worst first."""
    return sorted(set(statuses), key=severity, reverse=True)


class RunSource(StrEnum):
    API = "api"
    MAIL = "mail"
    DEMO = "demo"
    SCHEDULE = "schedule"  # a missed run: no report arrived within the grace window
