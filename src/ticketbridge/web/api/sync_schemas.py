"""What the sync API takes and answers (web/api/syncs.py): a sync's tables, scope and entity
switches, its runs, retries, conflicts and flagged items, and the dry run."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from ticketbridge.services.sync import syncs
from ticketbridge.web.api.schemas import IdField

# No control characters: none belongs in a PSA's value, and PostgreSQL stores no NUL. (Names
# are checked as every name is, core/names.py.)
_PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
PsaValue = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=_PRINTABLE),
]
SyncName = Annotated[str, StringConstraints(max_length=syncs.NAME_MAX)]
ConnectionRef = Annotated[str, StringConstraints(max_length=100)]
Interval = Annotated[int, Field(ge=60, le=86_400, description="Seconds between runs")]


class ValueTable(BaseModel):
    """Source value -> target value (the PSAs' own ids as text), and the value for the rest."""

    model_config = ConfigDict(extra="forbid")
    rows: dict[PsaValue, PsaValue] = Field(default_factory=dict, max_length=500)
    default: PsaValue | None = None


class DirectionTables(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: ValueTable = Field(default_factory=ValueTable)
    priority: ValueTable = Field(default_factory=ValueTable)
    company: ValueTable = Field(
        default_factory=ValueTable,
        description="Company (Jira: project) on the source -> on the target; else the customer "
        "mapped in both connections, else the default",
    )
    queue: ValueTable = Field(
        default_factory=ValueTable,
        description="Queue on the source (Autotask) -> queue on the target (Autotask queue, "
        "Jira issue type); used with the teams switch on",
    )
    categories: ValueTable = Field(
        default_factory=ValueTable,
        description="Category on the source (Autotask ticketCategory id, Jira label) -> on the "
        "target; used with the categories switch on",
    )


class Mapping(BaseModel):
    """Titles and descriptions are carried as text; these tables map the rest."""

    model_config = ConfigDict(extra="forbid")
    a_to_b: DirectionTables = Field(default_factory=DirectionTables)
    b_to_a: DirectionTables = Field(default_factory=DirectionTables)


class Scope(BaseModel):
    model_config = ConfigDict(extra="forbid")
    company_ids: list[IdField] = Field(
        default_factory=list,
        max_length=500,
        description="Only these companies' (Jira: projects') tickets; empty: all",
    )
    queue_ids: list[IdField] = Field(
        default_factory=list,
        max_length=500,
        description="Only these queues' tickets, where the side has queues (Autotask); empty: all",
    )
    jql: Annotated[str, StringConstraints(max_length=1000, pattern=_PRINTABLE)] | None = Field(
        None, description="A JQL fragment ANDed into a Jira side's listing; refused elsewhere"
    )


class Entities(BaseModel):
    """Other entities to carry, on a new ticket's copy and on later updates of mapped tickets
    (docs/sync.md): ``teams`` puts it in the queue the
    ``queue`` table maps its queue to; ``contacts`` names the source ticket's person (Autotask
    contact, Jira reporter) by e-mail address; ``categories`` gives it the category the
    ``categories`` table maps its category to (Autotask ticketCategory, Jira label)."""

    model_config = ConfigDict(extra="forbid")
    contacts: bool = False
    teams: bool = False
    categories: bool = False


class SyncChangeIn(BaseModel):
    """PATCH: any of these; PUT: all but ``enabled`` and ``interval_seconds``."""

    model_config = ConfigDict(extra="forbid")
    name: SyncName | None = None
    connection_a: ConnectionRef | None = Field(None, description="Fixed once made")
    connection_b: ConnectionRef | None = Field(None, description="Fixed once made")
    a_to_b: bool | None = None
    b_to_a: bool | None = None
    scope_a: Scope | None = None
    scope_b: Scope | None = None
    mapping: Mapping | None = None
    start_date: AwareDatetime | None = None
    entities: Entities | None = None
    enabled: bool | None = Field(None, description="Refused until the sync had a dry run")
    interval_seconds: Interval | None = None


class SyncIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: SyncName
    connection_a: ConnectionRef = Field(description="Side A: a connection's name or id")
    connection_b: ConnectionRef = Field(description="Side B: a connection's name or id")
    a_to_b: bool = True
    b_to_a: bool = True
    scope_a: Scope = Field(default_factory=Scope)
    scope_b: Scope = Field(default_factory=Scope)
    mapping: Mapping = Field(default_factory=Mapping)
    start_date: AwareDatetime = Field(description="Where the first run starts reading")
    entities: Entities = Field(default_factory=Entities)
    enabled: bool = Field(False, description="Refused until the sync had a dry run")
    interval_seconds: Interval = 300


class SyncOut(BaseModel):
    id: int
    name: str
    connection_a: str
    connection_b: str
    directions: str = Field(description="A <-> B, A -> B, A <- B or off")
    start_date: datetime
    enabled: bool
    last_status: str | None
    last_started_at: datetime | None
    watermark_a_to_b: datetime | None = Field(description="Where the next A -> B read starts")
    watermark_b_to_a: datetime | None


class SyncDetailOut(BaseModel):
    id: int
    name: str
    connection_a_id: int
    connection_b_id: int
    a_to_b: bool
    b_to_a: bool
    scope_a: dict[str, Any]
    scope_b: dict[str, Any]
    mapping: dict[str, Any]
    start_date: datetime
    entities: dict[str, Any]
    enabled: bool
    interval_seconds: int
    dry_run_at: datetime | None = Field(description="The last dry run; enabling needs one")
    run_requested_at: datetime | None = Field(description="A run asked for, not started yet")
    running: bool


class SyncRunOut(BaseModel):
    id: int
    started_at: datetime
    finished_at: datetime | None
    status: str = Field(
        description="running, succeeded, partial (items failed or values unmapped) or failed"
    )
    counts: dict[str, Any] = Field(description="Per direction and kind: seen, created, ...")
    errors: list[Any]


class FailureOut(BaseModel):
    kind: str
    side: str = Field(description="The side the item was read on")
    item_id: str
    error: str
    attempts: int
    first_failed_at: datetime
    last_failed_at: datetime
    next_retry_at: datetime


class ConflictOut(BaseModel):
    run_id: int | None
    kind: str
    a_id: str
    b_id: str
    field: str
    winner: str = Field(description="The side whose value was kept: a or b")
    winner_value: str | None
    loser_value: str | None
    winner_modified_at: datetime
    loser_modified_at: datetime
    recorded_at: datetime


class FlaggedOut(BaseModel):
    id: int = Field(description="The entry's id: clear or forget it by this id")
    kind: str
    a_id: str
    b_id: str
    origin: str = Field(description="The side the item was first made on: a or b")
    flag_reason: str = Field(description="Why it was flagged (which side's item is gone)")
    last_synced: datetime


class FlagResolvedOut(BaseModel):
    id: int
    action: str = Field(description="clear: read again on the next run; forget: entry removed")


class PlannedOut(BaseModel):
    target: str
    kind: str
    action: str
    source_id: str
    label: str


class DryRunOut(BaseModel):
    counts: dict[str, int] = Field(description='"<side written>.<kind>.<action>": how many')
    sample: list[PlannedOut]
    errors: list[Any]


class RunRequestedOut(BaseModel):
    sync_id: int
    run_requested_at: datetime
