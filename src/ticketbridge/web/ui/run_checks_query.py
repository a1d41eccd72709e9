"""What a Run Checks address says: filters, order, view and page, read the same way from the
page's query and from the copy its forms post back (so an action reaches exactly the runs
the page showed).

Any combination of filters is valid; an empty value means "no bound" (the browser sends
`date_from=` for a cleared date and `customer_id=` for All).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl, urlencode
from zoneinfo import ZoneInfo

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from ticketbridge.core.run_order import LAST, Cursor, InvalidCursor, Sort, decode_cursor
from ticketbridge.core.statuses import RunStatus
from ticketbridge.services.runs.records import RunFilter
from ticketbridge.web.api.schemas import EARLIEST_DAY, LATEST_DAY, MAX_ID, blank_is_none

# Constraints sit on the inner type, so that they never see the None an empty value became.
OptionalId = Annotated[
    Annotated[int, Field(ge=1, le=MAX_ID)] | None, BeforeValidator(blank_is_none)
]
OptionalDay = Annotated[
    Annotated[date, Field(ge=EARLIEST_DAY, le=LATEST_DAY)] | None, BeforeValidator(blank_is_none)
]

FILTER_FIELDS = ("q", "customer_id", "job_id", "status", "product", "date_from", "date_to",
                 "reviewed", "sort", "view")  # fmt: skip


class RunChecksQuery(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    q: Annotated[str, Field(max_length=200)] = ""
    customer_id: OptionalId = None
    job_id: OptionalId = None
    status: list[RunStatus] = []
    product: Annotated[str, Field(max_length=200)] = ""
    date_from: OptionalDay = None
    date_to: OptionalDay = None
    reviewed: Literal["no", "yes", "all"] = "no"
    sort: Sort = Sort.WORST
    view: Literal["jobs", "runs"] | None = None
    cursor: Annotated[str, Field(max_length=200)] = ""

    @model_validator(mode="before")
    @classmethod
    def _drop_blanks(cls, data: Any) -> Any:
        """Empty values are defaults: an empty date is no bound, an empty choice is All."""
        if not isinstance(data, dict):
            return data
        clean: dict[str, Any] = {}
        for name, value in data.items():
            if isinstance(value, list):
                value = [v for v in value if not (isinstance(v, str) and not v.strip())]
            elif isinstance(value, str) and not value.strip():
                continue
            clean[name] = value
        return clean

    @classmethod
    def from_query_string(cls, text: str) -> RunChecksQuery:
        """The filters a form carried back; raises ValidationError like the page would."""
        data: dict[str, Any] = {}
        for name, value in parse_qsl(text, keep_blank_values=True):
            if name == "status":
                data.setdefault("status", []).append(value)
            elif name in FILTER_FIELDS:
                data[name] = value
        return cls.model_validate(data)

    # -- what the page shows ---------------------------------------------------------------

    @property
    def grouped(self) -> bool:
        """One row per job: the queue of runs waiting for review, unless asked otherwise."""
        return self.reviewed == "no" and self.view != "runs"

    def run_filter(self, zone: str) -> RunFilter:
        return RunFilter(
            customer_id=self.customer_id,
            job_id=self.job_id,
            statuses=tuple(dict.fromkeys(self.status)),
            product=self.product or None,
            since=_local_midnight(self.date_from, zone),
            until=_local_midnight(self.date_to + timedelta(days=1), zone) if self.date_to else None,
            reviewed={"no": False, "yes": True}.get(self.reviewed),
            search=self.q.strip(),
        )

    def page_cursor(self) -> tuple[Cursor | None, bool]:
        """(cursor, last page?); a cursor of another list or order starts at the top."""
        if not self.cursor:
            return None, False
        if self.cursor == LAST:
            return None, True
        cursor = decode_cursor(self.cursor)
        if cursor.kind != ("jobs" if self.grouped else "runs") or cursor.sort is not self.sort:
            raise InvalidCursor("cursor is not one this page gave out")
        return cursor, False

    def pairs(self, **changes: Any) -> list[tuple[str, str]]:
        """The address's filters (not its page) as query pairs, defaults left out."""
        values = self.model_dump()
        values.update(changes)
        pairs: list[tuple[str, str]] = []
        for name in FILTER_FIELDS:
            value = values.get(name)
            if name == "status":
                pairs.extend(("status", str(s)) for s in value or [])
            elif value in (None, "") or (name, value) in (("reviewed", "no"), ("sort", "worst")):
                continue
            else:
                pairs.append((name, value.isoformat() if isinstance(value, date) else str(value)))
        return pairs

    def query_string(self, **changes: Any) -> str:
        return urlencode(self.pairs(**changes))

    def url(self, **changes: Any) -> str:
        """/run-checks with these filters (and `cursor=...` when given)."""
        cursor = changes.pop("cursor", "")
        pairs = self.pairs(**changes) + ([("cursor", cursor)] if cursor else [])
        return f"/run-checks?{urlencode(pairs)}" if pairs else "/run-checks"

    def page_url(self, cursor: str) -> str:
        return self.url(cursor=cursor)

    def describe(self, customers: dict[int, str], job_name: str | None = None) -> str:
        """The filters in words, for the confirmation page and the audit trail."""
        parts = []
        if self.customer_id is not None:
            parts.append(f"customer {customers.get(self.customer_id, self.customer_id)}")
        if self.job_id is not None:
            parts.append(f"job {job_name or self.job_id}")
        if self.status:
            parts.append("status " + " or ".join(RunStatus(s).label for s in self.status))
        if self.product:
            parts.append(f"product {self.product}")
        if self.date_from:
            parts.append(f"from {self.date_from.isoformat()}")
        if self.date_to:
            parts.append(f"to {self.date_to.isoformat()}")
        if self.q.strip():
            parts.append(f"search “{self.q.strip()}”")
        return ", ".join(parts) or "every run waiting for review"


def _local_midnight(day: date | None, zone: str) -> datetime | None:
    return datetime.combine(day, time.min, ZoneInfo(zone)) if day else None


def parse_posted(text: str) -> RunChecksQuery | None:
    """The filters a form posted back ("" is no filter), or None when they are not valid."""
    try:
        return RunChecksQuery.from_query_string(text)
    except ValidationError:
        return None


def history_cursor(text: str) -> tuple[Cursor | None, bool]:
    """A job history page's cursor (runs, newest first): (cursor, last page?)."""
    if not text:
        return None, False
    if text == LAST:
        return None, True
    cursor = decode_cursor(text)
    if cursor.kind != "runs" or cursor.sort is not Sort.NEWEST:
        raise InvalidCursor("cursor is not one this page gave out")
    return cursor, False
