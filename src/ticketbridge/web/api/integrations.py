"""The integration API by kind (/integrations/{kind}): the first connection of that kind, its
settings flat, as before named connections (web/api/connections.py is the full API), and the
customer's mapping in the connection its run tickets go to. The shapes both share live here.

The secret is write-only: responses say ``secret_set`` instead. Omitted fields of a PUT keep
their values, and an omitted or empty secret keeps the stored one. Connector errors become
409/502/503 (web/errors.py); a disabled integration answers 409 and sends nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from ticketbridge.connectors.psa.base import CheckResult, CompanyPage
from ticketbridge.services.connections import active as active_connection
from ticketbridge.services.connections import checks as integration_checks
from ticketbridge.services.connections import forms, mapping, named, reference
from ticketbridge.services.connections import settings as integration_settings
from ticketbridge.services.connections.active import Usage
from ticketbridge.services.connections.checks import ValidationReport
from ticketbridge.services.connections.reference import RefreshResult
from ticketbridge.services.connections.settings import ConnectionSettings, StoredSettings
from ticketbridge.services.runs import catalog
from ticketbridge.web.api.schemas import ERROR_RESPONSES, ErrorOut, Id, RemoteIdField
from ticketbridge.web.deps import ApiAdmin, ApiReader, Ctx, DbSession

UPSTREAM: dict[int | str, dict[str, Any]] = {502: {"model": ErrorOut}, 503: {"model": ErrorOut}}
router = APIRouter(tags=["integrations"], responses=ERROR_RESPONSES | UPSTREAM)

Kind = Annotated[str, Path(max_length=30, description="A connection kind: autotask, jira")]


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


class IntegrationSettingsOut(BaseModel):
    """The ticket policy, the kind's connector fields (secrets left out) beside it, flat."""

    model_config = ConfigDict(extra="allow")

    id: int | None
    name: str
    kind: str
    enabled: bool
    secret_set: bool
    base_url: str
    default_queue_id: int | None
    default_source_id: int | None
    default_status_id: int | None
    priority_warning_id: int | None
    priority_error_id: int | None
    allow_resolve: bool
    allow_manual_ticket_numbers: bool
    allow_success_tickets: bool
    usage: UsageOut | None = Field(
        description="Read-only gauge of the request governor; null while disabled"
    )

    @classmethod
    def of(cls, stored: StoredSettings, usage: Usage | None, kind: str) -> IntegrationSettingsOut:
        gauge = UsageOut.model_validate(usage) if usage is not None else None
        return cls.model_validate(
            stored.flat()
            | {
                "id": stored.connection_id,
                "name": stored.name or kind.title(),
                "kind": kind,
                "secret_set": stored.secret_set,
                "usage": gauge,
            }
        )


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


def mapping_out(customer_id: int, found: mapping.CompanyMapping) -> CompanyMappingOut:
    return CompanyMappingOut(
        customer_id=customer_id,
        status=found.status.value,
        company_id=found.company_id,
        company_name=found.cached_name,
        previous_name=found.previous_name,
        reason=found.invalid_reason,
        last_checked_at=found.last_sync,
    )


def test_out(result: CheckResult) -> ConnectionTestOut:
    steps = integration_checks.step_details(result)
    return ConnectionTestOut(
        ok=result.ok,
        steps={name: CheckStepOut.model_validate(step) for name, step in steps.items()},
        details=result.details,
    )


def refresh_out(result: RefreshResult) -> RefreshOut:
    return RefreshOut(
        counts=result.counts, synced_at=result.synced_at, preselected=result.preselected
    )


def validation_out(report: ValidationReport) -> ValidationOut:
    return ValidationOut(
        ok=report.ok,
        problems=[ProblemOut(field=p.field, message=p.message) for p in report.problems],
        checked_at=report.checked_at,
    )


def company_page(page: CompanyPage) -> CompanyPageOut:
    return CompanyPageOut(
        items=[CompanyOut(id=c.id, name=c.name, active=c.active) for c in page.items],
        next_cursor=page.next_cursor,
    )


def _first(session: DbSession, kind: str) -> int:
    """The first connection of the kind (404 when there is none, or no such kind)."""
    found = named.first_of_kind(session, kind) if kind in forms.kinds() else None
    if found is None:
        raise named.UnknownConnection(None)
    return found.id


@router.get("/integrations/{kind}", response_model=IntegrationSettingsOut)
def get_integration(
    kind: Kind, session: DbSession, ctx: Ctx, _: ApiAdmin
) -> IntegrationSettingsOut:
    if kind not in forms.kinds():
        raise named.UnknownConnection(None)
    found = named.first_of_kind(session, kind)
    if found is None:  # nothing set up yet: the defaults, disabled
        empty = StoredSettings(ConnectionSettings(), secret_set=False, connector={})
        return IntegrationSettingsOut.of(empty, None, kind)
    stored = integration_settings.load(session, found.id)
    return IntegrationSettingsOut.of(stored, active_connection.usage(ctx, session, found.id), kind)


@router.put("/integrations/{kind}", response_model=IntegrationSettingsOut)
def put_integration(
    kind: Kind, body: dict[str, Any], session: DbSession, ctx: Ctx, principal: ApiAdmin
) -> IntegrationSettingsOut:
    """Any subset of the settings, flat; the first connection of the kind is made when there
    is none. An unknown field is refused (422)."""
    if kind not in forms.kinds():
        raise named.UnknownConnection(None)
    stored = integration_settings.save(
        session, ctx.secret_box, body, actor=principal.actor, now=ctx.clock(), kind=kind
    )
    session.commit()
    usage = active_connection.usage(ctx, session, stored.connection_id)
    return IntegrationSettingsOut.of(stored, usage, kind)


@router.post("/integrations/{kind}/test", response_model=ConnectionTestOut)
def test_integration(
    kind: Kind, session: DbSession, ctx: Ctx, principal: ApiAdmin
) -> ConnectionTestOut:
    """Zone, an authenticated call and reference access; a failed step is a result (200)."""
    connection_id = _first(session, kind)
    return test_out(
        integration_checks.test_connection(ctx, actor=principal.actor, connection_id=connection_id)
    )


@router.post("/integrations/{kind}/refresh", response_model=RefreshOut)
def refresh_integration(
    kind: Kind, session: DbSession, ctx: Ctx, principal: ApiAdmin
) -> RefreshOut:
    connection_id = _first(session, kind)
    return refresh_out(reference.refresh(ctx, actor=principal.actor, connection_id=connection_id))


@router.post("/integrations/{kind}/validate", response_model=ValidationOut)
def validate_integration(
    kind: Kind, session: DbSession, ctx: Ctx, principal: ApiAdmin
) -> ValidationOut:
    connection_id = _first(session, kind)
    return validation_out(
        integration_checks.validate_configuration(
            ctx, actor=principal.actor, connection_id=connection_id
        )
    )


@router.get("/integrations/{kind}/companies", response_model=CompanyPageOut)
def search_companies(
    kind: Kind,
    session: DbSession,
    ctx: Ctx,
    _: ApiAdmin,
    search: Annotated[str, Query(max_length=100)] = "",
    cursor: Annotated[str | None, Query(max_length=20)] = None,
    page_size: Annotated[int, Query(ge=1, le=100)] = 25,
) -> CompanyPageOut:
    """Companies whose name contains ``search``, active or not; follow ``next_cursor``."""
    connection_id = _first(session, kind)
    return company_page(
        mapping.search_companies(
            ctx, search, cursor=cursor, page_size=page_size, connection_id=connection_id
        )
    )


@router.get("/customers/{customer_id}/{kind}-company", response_model=CompanyMappingOut)
def get_mapping(customer_id: Id, kind: Kind, session: DbSession, _: ApiReader) -> CompanyMappingOut:
    """The customer's mapping in the first connection of the kind."""
    catalog.get_customer(session, customer_id)
    connection_id = _first(session, kind)
    return mapping_out(
        customer_id, mapping.mapping_for_customer(session, customer_id, connection_id)
    )


@router.put("/customers/{customer_id}/{kind}-company", response_model=CompanyMappingOut)
def put_mapping(
    customer_id: Id,
    kind: Kind,
    body: CompanyMappingIn,
    session: DbSession,
    ctx: Ctx,
    principal: ApiAdmin,
) -> CompanyMappingOut:
    connection_id = _first(session, kind)
    made = mapping.map_customer(
        ctx, customer_id, body.company_id, actor=principal.actor, connection_id=connection_id
    )
    return mapping_out(customer_id, made)


@router.delete("/customers/{customer_id}/{kind}-company", status_code=204)
def delete_mapping(
    customer_id: Id, kind: Kind, session: DbSession, principal: ApiAdmin
) -> Response:
    connection_id = _first(session, kind)
    mapping.unmap_customer(session, customer_id, actor=principal.actor, connection_id=connection_id)
    session.commit()
    return Response(status_code=204)
