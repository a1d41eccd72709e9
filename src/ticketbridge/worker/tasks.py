"""Task bodies: a few lines each, loading ids and calling one service.

A task is a function `(runtime, **json_kwargs) -> None`, registered under a stable name. The same
names are used in-process and by procrastinate workers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ticketbridge.services import heartbeat
from ticketbridge.services.runtime import Runtime

TaskBody = Callable[..., None]
TASKS: dict[str, TaskBody] = {}


def task(name: str) -> Callable[[TaskBody], TaskBody]:
    def register(body: TaskBody) -> TaskBody:
        TASKS[name] = body
        return body

    return register


@dataclass(frozen=True)
class Schedule:
    task: str
    cron: str
    kwargs: tuple[tuple[str, Any], ...] = ()


# Periodic jobs. Each runs at most once at a time, in-process and across procrastinate workers.
SCHEDULES: tuple[Schedule, ...] = (Schedule("system.heartbeat", "* * * * *"),)


@task("system.heartbeat")
def system_heartbeat(runtime: Runtime, mode: str = "inprocess") -> None:
    heartbeat.beat(runtime.session_factory, mode=mode, now=runtime.clock())
