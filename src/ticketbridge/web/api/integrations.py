"""Admin API of the Autotask integration: settings, diagnostics, company search and mapping.

The secret is write-only: responses say ``secret_set`` instead. Omitted fields of a PUT keep
their values, and an omitted or empty secret keeps the stored one. Connector errors become
409/502/503 (web/errors.py); a disabled integration answers 409 and sends nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from ticketbridge.services.connections import autotask as autotask_connection
from ticketbridge.services.connections import checks as integration_checks
from ticketbridge.services.connections import mapping, reference
from ticketbridge.services.connections import settings as integration_settings
from ticketbridge.services.connections.autotask import Usage
from ticketbridge.services.connections.settings import StoredSettings
from ticketbridge.services.runs import catalog
from ticketbridge.web.api.schemas import ERROR_RESPONSES, ErrorOut, Id, RemoteIdField
from ticketbridge.web.deps import ApiAdmin, ApiReader, Ctx, DbSession

UPSTREAM: dict[int | str, dict[str, Any]] = {502: {"model": ErrorOut}, 503: {"model": ErrorOut}}
router = APIRouter(tags=["integrations"], responses=ERROR_RESPONSES | UPSTREAM)

Environment = Literal["production", "sandbox", "custom"]
LogLevel = Literal["off", "summary", "full"]


class EndpointUsageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    endpoint: str
    in_flight: int
    queued: int


class UsageOut(BaseModel):
    """The request governor's gauge (this process): the hour's use and the request slots."""

    model_config = ConfigDict(from_attributes=True)

    requests_used: int = Field(description="Autotask's last figure plus our requests since")
    requests_limit: int
    window_minutes: int
    share: float = Field(description="requests_used / requests_limit")
    known: bool = Field(description="False until Autotask's own figure was read once")
    read_at: datetime | None
    counted_since_read: int
    paused: list[Literal["operator", "roundtrip", "background"]]
    threads_per_endpoint: int
    endpoints: list[EndpointUsageOut]


class AutotaskSettingsOut(BaseModel):
    enabled: bool
    environment: Environment
    api_host: str | None
    username: str
    secret_set: bool
    integration_code: str
    base_url: str
    default_queue_id: int | None
    default_source_id: int | None
    default_status_id: int | None
    priority_warning_id: int | None
    priority_error_id: int | None
    allow_resolve: bool
    allow_manual_ticket_numbers: bool
    allow_success_tickets: bool
    logging_level: LogLevel
    usage: UsageOut | None = Field(
        description="Read-only gauge of the request governor; null while disabled"
    )

    @classmethod
    def of(cls, stored: StoredSettings, usage: Usage | None) -> AutotaskSettingsOut:
        gauge = UsageOut.model_validate(usage) if usage is not None else None
        return cls.model_validate(
            stored.settings.model_dump() | {"secret_set": stored.secret_set, "usage": gauge}
        )


class AutotaskSettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool | None = None
    environment: Environment | None = None
    api_host: str | None = Field(default=None, max_length=500)
    username: str | None = Field(default=None, max_length=200)
    secret: SecretStr | None = Field(default=None, description="Write-only; empty keeps it")
    integration_code: str | None = Field(default=None, max_length=100)
    base_url: str | None = Field(default=None, max_length=500)
    default_queue_id: int | None = None
    default_source_id: int | None = None
    default_status_id: int | None = None
    priority_warning_id: int | None = None
    priority_error_id: int | None = None
    allow_resolve: bool | None = None
    allow_manual_ticket_numbers: bool | None = None
    allow_success_tickets: bool | None = None
    logging_level: LogLevel | None = None


class CheckStepOut(BaseModel):
    ok: bool | None
    message: str


class ConnectionTestOut(BaseModel):
    ok: bool
    steps: dict[str, CheckStepOut]
    details: dict[str, str]


class RefreshOut(BaseModel):
    counts: dict[str, int]
    synced_at: datetime
    preselected: dict[str, int]


class ProblemOut(BaseModel):
    field: str
    message: str


class ValidationOut(BaseModel):
    ok: bool
    problems: list[ProblemOut]
    checked_at: datetime


class CompanyOut(BaseModel):
    id: int
    name: str
    active: bool


class CompanyPageOut(BaseModel):
    items: list[CompanyOut]
    next_cursor: str | None


class CompanyMappingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    company_id: RemoteIdField


class CompanyMappingOut(BaseModel):
    customer_id: int
    status: str
    company_id: int | None
    company_name: str | None
    previous_name: str | None
    reason: str | None
    last_checked_at: datetime | None


def _mapping_out(customer_id: int, found: mapping.CompanyMapping) -> CompanyMappingOut:
    return CompanyMappingOut(
        customer_id=customer_id,
        status=found.status.value,
        company_id=found.company_id,
        company_name=found.cached_name,
        previous_name=found.previous_name,
        reason=found.invalid_reason,
        last_checked_at=found.last_sync,
    )


@router.get("/integrations/autotask", response_model=AutotaskSettingsOut)
def get_autotask(session: DbSession, ctx: Ctx, _: ApiAdmin) -> AutotaskSettingsOut:
    stored = integration_settings.load(session)
    return AutotaskSettingsOut.of(stored, autotask_connection.usage(ctx, session))


@router.put("/integrations/autotask", response_model=AutotaskSettingsOut)
def put_autotask(
    body: AutotaskSettingsIn, session: DbSession, ctx: Ctx, principal: ApiAdmin
) -> AutotaskSettingsOut:
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    if body.secret is not None:
        changes["secret"] = body.secret.get_secret_value()
    stored = integration_settings.save(
        session, ctx.secret_box, changes, actor=principal.actor, now=ctx.clock()
    )
    session.commit()
    return AutotaskSettingsOut.of(stored, autotask_connection.usage(ctx, session))


@router.post("/integrations/autotask/test", response_model=ConnectionTestOut)
def test_autotask(ctx: Ctx, principal: ApiAdmin) -> ConnectionTestOut:
    """Zone, an authenticated call and reference access; a failed step is a result (200)."""
    result = integration_checks.test_connection(ctx, actor=principal.actor)
    steps = integration_checks.step_details(result)
    return ConnectionTestOut(
        ok=result.ok,
        steps={name: CheckStepOut.model_validate(step) for name, step in steps.items()},
        details=result.details,
    )


@router.post("/integrations/autotask/refresh", response_model=RefreshOut)
def refresh_autotask(ctx: Ctx, principal: ApiAdmin) -> RefreshOut:
    result = reference.refresh(ctx, actor=principal.actor)
    return RefreshOut(
        counts=result.counts, synced_at=result.synced_at, preselected=result.preselected
    )


@router.post("/integrations/autotask/validate", response_model=ValidationOut)
def validate_autotask(ctx: Ctx, principal: ApiAdmin) -> ValidationOut:
    report = integration_checks.validate_configuration(ctx, actor=principal.actor)
    return ValidationOut(
        ok=report.ok,
        problems=[ProblemOut(field=p.field, message=p.message) for p in report.problems],
        checked_at=report.checked_at,
    )


@router.get("/integrations/autotask/companies", response_model=CompanyPageOut)
def search_companies(
    ctx: Ctx,
    _: ApiAdmin,
    search: Annotated[str, Query(max_length=100)] = "",
    cursor: Annotated[str | None, Query(max_length=20)] = None,
    page_size: Annotated[int, Query(ge=1, le=100)] = 25,
) -> CompanyPageOut:
    """Companies whose name contains ``search``, active or not; follow ``next_cursor``."""
    page = mapping.search_companies(ctx, search, cursor=cursor, page_size=page_size)
    return CompanyPageOut(
        items=[CompanyOut(id=c.id, name=c.name, active=c.active) for c in page.items],
        next_cursor=page.next_cursor,
    )


@router.get("/customers/{customer_id}/autotask-company", response_model=CompanyMappingOut)
def get_mapping(customer_id: Id, session: DbSession, _: ApiReader) -> CompanyMappingOut:
    catalog.get_customer(session, customer_id)
    return _mapping_out(customer_id, mapping.mapping_for_customer(session, customer_id))


@router.put("/customers/{customer_id}/autotask-company", response_model=CompanyMappingOut)
def put_mapping(
    customer_id: Id, body: CompanyMappingIn, ctx: Ctx, principal: ApiAdmin
) -> CompanyMappingOut:
    made = mapping.map_customer(ctx, customer_id, body.company_id, actor=principal.actor)
    return _mapping_out(customer_id, made)


@router.delete("/customers/{customer_id}/autotask-company", status_code=204)
def delete_mapping(customer_id: Id, session: DbSession, principal: ApiAdmin) -> Response:
    mapping.unmap_customer(session, customer_id, actor=principal.actor)
    session.commit()
    return Response(status_code=204)
