"""What the admin API (``/_emulator/``) accepts, as pydantic models.

The emulator ships to users as a sandbox, so its admin API is held to the same standard as the
product's: a fault with ``"probability": "x"`` or a clock advance of ``1e300`` used to be stored
as given and then break every later request. Every admin body is validated here first and a bad
one is answered 400 ``{"errors": ["<field>: <problem>", ...]}``, the API's own error shape.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from .errors import ApiError, app_error
from .urls import http_url_problem

HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
# About a century either way: far enough for any test, near enough that every date the emulator
# computes stays inside SQL Server's datetime range (dates.py).
MAX_CLOCK_OFFSET_SECONDS = 100 * 366 * 86_400
MAX_FAULT_SECONDS = 3_600.0
XML_NAME = r"^[A-Za-z_][A-Za-z0-9_.-]{0,99}$"

Model = TypeVar("Model", bound=BaseModel)


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


Method = Annotated[HttpMethod, BeforeValidator(_upper)]
Text = Annotated[str, Field(max_length=2_048)]
Seconds = Annotated[float, Field(ge=0, le=MAX_FAULT_SECONDS, allow_inf_nan=False)]
Offset = Annotated[
    float, Field(ge=-MAX_CLOCK_OFFSET_SECONDS, le=MAX_CLOCK_OFFSET_SECONDS, allow_inf_nan=False)
]


class _Input(BaseModel):
    # strict: "5" is not a count and true is not a status; unknown options are mistakes.
    model_config = ConfigDict(extra="forbid", strict=True)


class FaultIn(_Input):
    kind: Literal["status", "latency", "drop"] = "status"
    count: Annotated[int, Field(ge=1, le=1_000_000_000)] | None = 1
    probability: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] = 1.0
    status: Annotated[int, Field(ge=400, le=599)] = 500
    seconds: Seconds = 0.0
    retry_after: Annotated[int, Field(ge=0, le=86_400)] | None = None
    when: Literal["before_commit", "after_commit"] | None = None
    methods: Annotated[list[Method], Field(max_length=10)] | None = None
    path_contains: Text | None = None
    writes_only: bool | None = None
    body: Any = None


class ClockIn(_Input):
    advance_seconds: Offset = 0.0
    set_offset_seconds: Offset | None = None


class LimitsIn(_Input):
    threshold: Annotated[int, Field(ge=1, le=1_000_000_000)] | None = None
    timeframe_minutes: Annotated[int, Field(ge=1, le=10_080)] | None = None
    delay_at_50: Seconds | None = None
    delay_at_75: Seconds | None = None
    thread_limit: Annotated[int, Field(ge=1, le=1_000)] | None = None
    thread_limit_status: Annotated[int, Field(ge=400, le=599)] | None = None
    reset_counter: bool = False
    reset_threads: bool = False

    def settings(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True, exclude={"reset_counter", "reset_threads"})


class ResetIn(_Input):
    seed: Literal["demo", "empty"] | None = None


class SeedIn(_Input):
    seed: Literal["demo", "empty"]


Event = Annotated[Literal["create", "update"], BeforeValidator(_lower)]


def _every_event() -> list[Literal["create", "update"]]:
    return ["create", "update"]


class CalloutIn(_Input):
    url: Text
    username: Text | None = None
    password: Text | None = None
    http_method: Annotated[Literal["GET", "POST"], BeforeValidator(_upper)] = "POST"
    format: Literal["name_value", "soap", "xml_rpc"] = "name_value"
    # Element names in the SOAP and XML-RPC bodies: an XML name, not markup.
    method_name: Annotated[str, Field(pattern=XML_NAME)] | None = None
    soap_action: Annotated[str, Field(max_length=500, pattern=r"^[^\x00-\x1f\x7f\"]*$")] | None = (
        None
    )
    udf_name: Annotated[str, Field(max_length=255)] | None = None
    events: Annotated[list[Event], Field(max_length=2)] = Field(default_factory=_every_event)
    active: bool = True

    @field_validator("url")
    @classmethod
    def _http_only(cls, value: str) -> str:
        problem = http_url_problem(value)
        if problem is not None:
            raise ValueError(f"{problem}; a callout URL must be an absolute http or https URL")
        return value


PicklistKey = Annotated[str | int, Field(union_mode="left_to_right")]


class PicklistValueIn(BaseModel):
    model_config = ConfigDict(extra="forbid")  # lax: sortOrder "3" is fine here

    value: PicklistKey
    label: Annotated[str, Field(min_length=1, max_length=255)]
    sortOrder: Annotated[int, Field(ge=0, le=1_000_000)] | None = None
    isDefaultValue: bool = False
    isActive: bool = True
    isSystem: bool = False
    parentValue: PicklistKey = ""


class PicklistListIn(_Input):
    values: Annotated[list[PicklistValueIn], Field(max_length=10_000)]


class PicklistPatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    isActive: bool | None = None
    isDefaultValue: bool | None = None
    sortOrder: Annotated[int, Field(ge=0, le=1_000_000)] | None = None
    parentValue: PicklistKey | None = None


class UdfIn(_Input):
    name: Annotated[str, Field(min_length=1, max_length=255)]
    label: Annotated[str, Field(max_length=255)] | None = None
    type: Literal["string", "integer", "double", "decimal", "datetime", "date"] = "string"
    length: Annotated[int, Field(ge=1, le=8_000)] = 255
    description: Annotated[str, Field(max_length=2_048)] = ""
    picklistValues: Annotated[list[PicklistValueIn], Field(max_length=10_000)] | None = None


class SnapshotIn(BaseModel):
    """The shape of GET /_emulator/snapshot, so that a restore cannot plant a broken store."""

    model_config = ConfigDict(extra="forbid")

    version: int = 1
    tables: dict[str, list[dict[str, Any]]]
    next_ids: dict[str, int] = Field(default_factory=dict)
    picklists: dict[str, dict[str, list[dict[str, Any]]]] = Field(default_factory=dict)
    udfs: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)
    ticket_days: dict[str, int] = Field(default_factory=dict)
    resource_roles: dict[str, list[int]] = Field(default_factory=dict)
    callouts: list[dict[str, Any]] = Field(default_factory=list)
    tenant: dict[str, Any] = Field(default_factory=dict)

    @field_validator("tables")
    @classmethod
    def _rows_have_ids(cls, tables: dict[str, list[dict[str, Any]]]) -> Any:
        for name, rows in tables.items():
            for row in rows:
                row_id = row.get("id")
                if isinstance(row_id, bool) or not isinstance(row_id, int):
                    raise ValueError(f"every row of {name} needs an integer id")
        return tables


def parse(model: type[Model], body: Any) -> Model:
    """``body`` as ``model``, or the 400 that lists every problem."""
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise app_error("The request body must be a JSON object.", status=400)
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise _invalid(exc) from None


def _invalid(exc: ValidationError) -> ApiError:
    messages = []
    for error in exc.errors(include_url=False, include_input=False):
        where = ".".join(str(p) for p in error["loc"]) or "body"
        messages.append(f"{where}: {error['msg']}")
    return app_error(*messages, status=400)
