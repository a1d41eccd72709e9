"""Admin API of PSA connections: named connections of any registered kind, their settings,
diagnostics, reference data, company search and customer mappings.

Secrets are write-only: responses say ``secret_set``. Omitted fields of a PUT keep their
values, an omitted or empty secret keeps the stored one. A kind's connector fields are
described by GET /connection-kinds (read from the kind's config model). Connector errors
become 409/502/503 (web/errors.py); a disabled connection answers 409 and sends nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from ticketbridge.services.connections import active as active_connection
from ticketbridge.services.connections import checks, forms, mapping, named, reference
from ticketbridge.services.connections import settings as connection_settings
from ticketbridge.services.runs import catalog
from ticketbridge.storage.models import PsaConnection
from ticketbridge.web.api.integrations import (
    UPSTREAM,
    CompanyMappingIn,
    CompanyMappingOut,
    CompanyPageOut,
    ConnectionTestOut,
    RefreshOut,
    UsageOut,
    ValidationOut,
    company_page,
    mapping_out,
    refresh_out,
    test_out,
    validation_out,
)
from ticketbridge.web.api.schemas import ERROR_RESPONSES, Id
from ticketbridge.web.deps import ApiAdmin, ApiReader, Ctx, DbSession

router = APIRouter(tags=["connections"], responses=ERROR_RESPONSES | UPSTREAM)


class FormFieldOut(BaseModel):
    name: str
    input_name: str = Field(description="The input's name in the settings page's form")
    label: str
    type: str = Field(description="text, secret (write-only), choice, number or switch")
    required: bool
    default: Any
    choices: list[str]
    description: str
    advanced: bool


class KindOut(BaseModel):
    kind: str
    connector_fields: list[FormFieldOut]


class CheckOut(BaseModel):
    ok: bool | None = Field(description="None until Test connection ran once")
    message: str | None
    checked_at: datetime | None


class ConnectionOut(BaseModel):
    id: int
    name: str
    kind: str
    enabled: bool
    ticketing_default: bool
    secret_set: bool
    settings: dict[str, Any] = Field(description="The ticket policy, the same for every kind")
    connector: dict[str, Any] = Field(description="The kind's settings, secrets left out")
    last_check: CheckOut
    reference_synced_at: datetime | None
    usage: UsageOut | None = Field(description="The request governor's gauge; null if disabled")


class ConnectionNewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=named.NAME_MAX)
    kind: str = Field(min_length=1, max_length=30)


class ConnectionIn(BaseModel):
    """Any subset: the name, the ticket policy and the kind's connector fields (secrets
    included, write-only)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=named.NAME_MAX)
    settings: dict[str, Any] | None = None
    connector: dict[str, Any] | None = None


class TicketingConnectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    connection_id: int | None = Field(description="None: the ticketing default")


class MappingRowOut(CompanyMappingOut):
    customer_name: str


def _out(session: DbSession, ctx: Ctx, row: PsaConnection) -> ConnectionOut:
    stored = connection_settings.load_row(row)
    usage = active_connection.usage(ctx, session, row.id)
    return ConnectionOut(
        id=row.id,
        name=row.name,
        kind=row.kind,
        enabled=row.enabled,
        ticketing_default=row.ticketing_default,
        secret_set=stored.secret_set,
        settings=stored.settings.model_dump(exclude={"enabled"}),
        connector=dict(stored.connector),
        last_check=CheckOut(ok=row.check_ok, message=row.check_message, checked_at=row.checked_at),
        reference_synced_at=row.reference_synced_at,
        usage=UsageOut.model_validate(usage) if usage is not None else None,
    )


@router.get("/connection-kinds", response_model=list[KindOut])
def list_kinds(_: ApiAdmin) -> list[KindOut]:
    """The registered kinds and the connector fields each one's form asks for."""
    return [
        KindOut(
            kind=kind,
            connector_fields=[
                FormFieldOut.model_validate(f, from_attributes=True)
                for f in forms.form_fields(kind)
            ],
        )
        for kind in forms.kinds()
    ]


@router.get("/connections", response_model=list[ConnectionOut])
def list_connections(session: DbSession, ctx: Ctx, _: ApiAdmin) -> list[ConnectionOut]:
    return [_out(session, ctx, row) for row in named.all_connections(session)]


@router.post("/connections", response_model=ConnectionOut, status_code=201)
def create_connection(
    body: ConnectionNewIn, session: DbSession, ctx: Ctx, principal: ApiAdmin
) -> ConnectionOut:
    """A new, disabled connection; the first one becomes the ticketing default."""
    row = named.create(
        session, name=body.name, kind=body.kind, actor=principal.actor, now=ctx.clock()
    )
    session.commit()
    return _out(session, ctx, row)


@router.get("/connections/{connection_id}", response_model=ConnectionOut)
def get_connection(connection_id: Id, session: DbSession, ctx: Ctx, _: ApiAdmin) -> ConnectionOut:
    return _out(session, ctx, named.get(session, connection_id))


@router.put("/connections/{connection_id}", response_model=ConnectionOut)
def put_connection(
    connection_id: Id, body: ConnectionIn, session: DbSession, ctx: Ctx, principal: ApiAdmin
) -> ConnectionOut:
    if body.name is not None:
        named.rename(session, connection_id, body.name, actor=principal.actor)
    if body.settings is not None or body.connector is not None:
        policy = dict(body.settings or {})
        misplaced = sorted(k for k in policy if k not in connection_settings.POLICY_FIELDS)
        if misplaced:
            raise connection_settings.InvalidIntegrationSettings(
                [
                    connection_settings.FieldError(
                        f"settings.{k}", "not a ticket policy setting (the kind's go in connector)"
                    )
                    for k in misplaced
                ]
            )
        changes: dict[str, Any] = policy | {"connector": body.connector or {}}
        connection_settings.save(
            session,
            ctx.secret_box,
            changes,
            actor=principal.actor,
            now=ctx.clock(),
            connection_id=connection_id,
        )
    session.commit()
    return _out(session, ctx, named.get(session, connection_id))


@router.delete("/connections/{connection_id}", status_code=204)
def delete_connection(connection_id: Id, session: DbSession, principal: ApiAdmin) -> Response:
    """Only a connection no run's ticket lives in; others are disabled instead."""
    named.delete(session, connection_id, actor=principal.actor)
    session.commit()
    return Response(status_code=204)


@router.post("/connections/{connection_id}/ticketing-default", response_model=ConnectionOut)
def make_ticketing_default(
    connection_id: Id, session: DbSession, ctx: Ctx, principal: ApiAdmin
) -> ConnectionOut:
    """Runs' tickets go to this connection unless their customer names another."""
    named.make_ticketing_default(session, connection_id, actor=principal.actor)
    session.commit()
    return _out(session, ctx, named.get(session, connection_id))


@router.post("/connections/{connection_id}/test", response_model=ConnectionTestOut)
def test_connection(connection_id: Id, ctx: Ctx, principal: ApiAdmin) -> ConnectionTestOut:
    """Endpoint, an authenticated call and reference access; a failed step is a result."""
    _exists(ctx, connection_id)
    return test_out(checks.test_connection(ctx, actor=principal.actor, connection_id=connection_id))


@router.post("/connections/{connection_id}/refresh", response_model=RefreshOut)
def refresh_reference(connection_id: Id, ctx: Ctx, principal: ApiAdmin) -> RefreshOut:
    _exists(ctx, connection_id)
    return refresh_out(reference.refresh(ctx, actor=principal.actor, connection_id=connection_id))


@router.post("/connections/{connection_id}/validate", response_model=ValidationOut)
def validate_connection(connection_id: Id, ctx: Ctx, principal: ApiAdmin) -> ValidationOut:
    _exists(ctx, connection_id)
    return validation_out(
        checks.validate_configuration(ctx, actor=principal.actor, connection_id=connection_id)
    )


@router.get(
    "/connections/{connection_id}/reference", response_model=dict[str, list[dict[str, Any]]]
)
def get_reference(
    connection_id: Id, session: DbSession, _: ApiAdmin
) -> dict[str, list[dict[str, Any]]]:
    """The stored reference lists (inactive values kept, marked), per category."""
    named.get(session, connection_id)
    return {
        category: [
            {"id": int(v.value_id), "name": v.name, "active": v.active, "group": v.value_group}
            for v in values
        ]
        for category, values in reference.options(session, connection_id).items()
    }


@router.get("/connections/{connection_id}/companies", response_model=CompanyPageOut)
def search_companies(
    connection_id: Id,
    ctx: Ctx,
    _: ApiAdmin,
    search: Annotated[str, Query(max_length=100)] = "",
    cursor: Annotated[str | None, Query(max_length=20)] = None,
    page_size: Annotated[int, Query(ge=1, le=100)] = 25,
) -> CompanyPageOut:
    """The PSA's companies (Jira: projects) whose name contains ``search``."""
    _exists(ctx, connection_id)
    return company_page(
        mapping.search_companies(
            ctx, search, cursor=cursor, page_size=page_size, connection_id=connection_id
        )
    )


@router.get("/connections/{connection_id}/mappings", response_model=list[MappingRowOut])
def list_mappings(connection_id: Id, session: DbSession, _: ApiReader) -> list[MappingRowOut]:
    named.get(session, connection_id)
    names = {c.id: c.name for c in catalog.list_customers(session)}
    return [
        MappingRowOut(
            customer_name=names.get(customer_id, ""),
            **mapping_out(customer_id, mapping.to_mapping(row)).model_dump(),
        )
        for customer_id, row in sorted(mapping.mappings(session, connection_id).items())
    ]


@router.post("/connections/{connection_id}/validate-mappings", response_model=dict[str, Any])
def validate_mappings(connection_id: Id, ctx: Ctx, principal: ApiAdmin) -> dict[str, Any]:
    _exists(ctx, connection_id)
    summary = mapping.validate(ctx, actor=principal.actor, connection_id=connection_id)
    return {"checked": summary.checked, "statuses": summary.statuses, "changed": summary.changed}


@router.put("/connections/{connection_id}/mappings/{customer_id}", response_model=CompanyMappingOut)
def put_mapping(
    connection_id: Id, customer_id: Id, body: CompanyMappingIn, ctx: Ctx, principal: ApiAdmin
) -> CompanyMappingOut:
    made = mapping.map_customer(
        ctx, customer_id, body.company_id, actor=principal.actor, connection_id=connection_id
    )
    return mapping_out(customer_id, made)


@router.delete("/connections/{connection_id}/mappings/{customer_id}", status_code=204)
def delete_mapping(
    connection_id: Id, customer_id: Id, session: DbSession, principal: ApiAdmin
) -> Response:
    named.get(session, connection_id)
    mapping.unmap_customer(session, customer_id, actor=principal.actor, connection_id=connection_id)
    session.commit()
    return Response(status_code=204)


@router.put("/customers/{customer_id}/ticketing-connection", status_code=204)
def put_ticketing_connection(
    customer_id: Id, body: TicketingConnectionIn, session: DbSession, principal: ApiAdmin
) -> Response:
    """Which connection this customer's run tickets go to (None: the ticketing default)."""
    named.choose_for_customer(session, customer_id, body.connection_id, actor=principal.actor)
    session.commit()
    return Response(status_code=204)


def _exists(ctx: Ctx, connection_id: int) -> None:
    with ctx.session_factory() as session:
        named.get(session, connection_id)
