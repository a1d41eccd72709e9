"""What a reported run must look like before it is stored: the API's, the import's and the
demo's run models, and the rules for its names and times.

Mail intake and the schedules build :class:`RecordedRun` from a job already stored.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Annotated, Protocol

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
)

from ticketbridge.core.names import problem
from ticketbridge.core.statuses import RunStatus
from ticketbridge.storage.models.catalog import (
    CUSTOMER_KEY_LENGTH,
    JOB_NAME_KEY_LENGTH,
    PRODUCT_KEY_LENGTH,
)

# Run times must lie in this range. Backup software older than 2000 reports no runs to us, and a
# time far off is a mistake (a clock reset, seconds read as years); at the very ends of the
# calendar (year 1 at +14:00, 9999 at -14:00) the time cannot even be turned into UTC.
EARLIEST_RUN = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_RUN = datetime(2100, 1, 1, tzinfo=UTC)
MAX_OBJECTS = 10_000  # per run
# A date, a time and the rest: pydantic would also read a number (or a string of digits) as
# seconds since 1970, which is nobody's way of writing a backup time.
_ISO_8601 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def iso_8601_only(value: object) -> object:
    """Before pydantic reads a time: ISO 8601 text, or a datetime handed over from Python."""
    if isinstance(value, datetime) or (isinstance(value, str) and _ISO_8601.match(value)):
        return value
    raise ValueError(
        "expected an ISO 8601 date and time with an offset, such as 2026-11-20T01:00:00Z"
    )


def within(earliest: datetime, latest: datetime) -> Callable[[datetime], bool]:
    """Whether an aware time lies in [earliest, latest)."""
    # An offset moves a time by less than a day, so a year strictly between these two lies in
    # the range whatever its offset: judged by one attribute, where comparing aware times asks
    # both zones for their offset (a batch holds two times per run).
    surely_after, surely_before = earliest.year, latest.year - 1

    def inside(value: datetime) -> bool:
        return surely_after < value.year < surely_before or earliest <= value < latest

    return inside


def time_range(earliest: datetime, latest: datetime) -> AfterValidator:
    """After pydantic read an aware time: it lies in [earliest, latest)."""
    inside = within(earliest, latest)

    def in_range(value: datetime) -> datetime:
        if not inside(value):
            raise ValueError(f"must lie from {earliest:%Y-%m-%d} to before {latest:%Y-%m-%d} (UTC)")
        return value

    return AfterValidator(in_range)


in_run_range = within(EARLIEST_RUN, LATEST_RUN)


RunTime = Annotated[
    AwareDatetime,
    BeforeValidator(iso_8601_only),
    time_range(EARLIEST_RUN, LATEST_RUN),
    # The year is what a schema can say of the range (the offset can still cross it).
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": "^20[0-9]{2}-"}),
]


@lru_cache(maxsize=4096)
def name_problem(name: str, key_length: int) -> str | None:
    # A batch names a few customers and jobs hundreds of times: each spelling is judged once
    # (character by character in Python, it was half the cost of validating a batch).
    return problem(name, key_length=key_length)


def _name_rule(key_length: int) -> AfterValidator:
    def check(value: str) -> str:
        trouble = name_problem(value, key_length)
        if trouble:
            raise ValueError(trouble)
        return value

    return AfterValidator(check)


class RunObjectIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=500)
    type: str = Field(default="", max_length=100)
    status: RunStatus
    message: str = Field(default="", max_length=20_000)


class RunIn(BaseModel):
    """One backup run as a product or a script reports it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    # Names are matched by their keys (core/names.py) and may not hold invisible characters.
    customer: Annotated[str, _name_rule(CUSTOMER_KEY_LENGTH)] = Field(
        min_length=1, max_length=200, description="Customer name"
    )
    job_name: Annotated[str, _name_rule(JOB_NAME_KEY_LENGTH)] = Field(min_length=1, max_length=300)
    backup_product: Annotated[str, _name_rule(PRODUCT_KEY_LENGTH)] = Field(
        min_length=1, max_length=100
    )
    job_type: str = Field(default="", max_length=100)
    host: str = Field(default="", max_length=300)
    status: RunStatus
    started_at: RunTime = Field(description="ISO 8601 with an offset, 2000 to 2099")
    ended_at: RunTime | None = None
    overall_remark: str = Field(default="", max_length=20_000)
    external_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Your id for this run; a repeat with the same id returns the stored run",
    )
    objects: list[RunObjectIn] = Field(default_factory=list, max_length=MAX_OBJECTS)


class RecordedRun(RunIn):
    """A run that mail intake or the schedules build from a job already stored: its names were
    accepted when the job was made (perhaps before today's name rule), so they are not judged
    again; one odd legacy name must not stop every later report or missed run of that job."""

    customer: str = Field(min_length=1, max_length=200)
    job_name: str = Field(min_length=1, max_length=300)
    backup_product: str = Field(min_length=1, max_length=100)


class ReportedObject(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def status(self) -> RunStatus: ...
    @property
    def message(self) -> str: ...


class ReportedRun(Protocol):
    """What storing a run reads of it: a :class:`RunIn`, or the API's batch read by
    services/runs/batch_decoder.py to the same rules."""

    @property
    def customer(self) -> str: ...
    @property
    def job_name(self) -> str: ...
    @property
    def backup_product(self) -> str: ...
    @property
    def job_type(self) -> str: ...
    @property
    def host(self) -> str: ...
    @property
    def status(self) -> RunStatus: ...
    @property
    def started_at(self) -> datetime: ...
    @property
    def ended_at(self) -> datetime | None: ...
    @property
    def overall_remark(self) -> str: ...
    @property
    def external_id(self) -> str | None: ...
    @property
    def objects(self) -> Sequence[ReportedObject]: ...
