"""RMM alerts (docs/alerts.md): list them, report one, act on one, explain a correlation, and
the sources with their CustomerID mappings.

Actions answer 404 (unknown alert), 409 (refused in this state, a ticket being created, the
integration disabled), 422 (bad input, creation blocked), 502 (Autotask refused) or 503
(Autotask unavailable); never 500.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import AfterValidator, BaseModel, Field

from ticketbridge.services.alerts import explain as explainer
from ticketbridge.services.alerts import intake, sources, store, views
from ticketbridge.services.alerts.actions import AlertAction, act
from ticketbridge.services.alerts.store import AlertError, AlertState, CreateRule
from ticketbridge.storage.models import Alert, Customer
from ticketbridge.web.api.schemas import ERROR_RESPONSES, ErrorOut, Id, IdField, IdFilter, Page
from ticketbridge.web.deps import (
    ApiAdmin,
    ApiIngester,
    ApiReader,
    ApiReviewer,
    Ctx,
    DbSession,
    TicketActions,
)

# Explanations have a path of their own: under /alerts, a GET of it would reach /{alert_id}.
router = APIRouter(tags=["alerts"], responses=ERROR_RESPONSES)
PSA_ERRORS: dict[int | str, dict[str, Any]] = {
    502: {"model": ErrorOut, "description": "Autotask refused the request"},
    503: {"model": ErrorOut, "description": "Autotask is unavailable"},
}
_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def _safe(value: str | None) -> str | None:
    if value is not None and _UNSAFE.search(value):
        raise ValueError("must not hold control characters or lone surrogates")
    return value


Line = Annotated[str, Field(max_length=255), AfterValidator(_safe)]
# Bounded so that a body stays under the 1 MiB request limit even when every character is
# sent escaped (an astral character as two \uXXXX: 12 bytes).
Text = Annotated[str, Field(max_length=20_000), AfterValidator(_safe)]


class AlertOut(BaseModel):
    id: int
    state: AlertState
    source: str
    customer_ref: str | None = Field(description="The token's CustomerID")
    customer_id: int | None = Field(description="Our customer it maps to")
    customer: str | None
    company_id: int | None = Field(description="The customer's Autotask company")
    device_ref: str | None = Field(description="The token's DeviceID")
    ci_id: int | None = Field(description="The Autotask configuration item found for it")
    ci_name: str | None
    alert_ref: str | None = Field(description="The token's AlertID")
    ticket_ref: str | None = Field(description="The token's TicketID")
    title: str
    summary: str
    reason: str = Field(description="Why the alert stands where it stands")
    count: int
    first_seen_at: datetime
    last_seen_at: datetime
    ticket_id: int | None
    ticket_number: str | None
    last_error: str | None
    decided_by: str | None
    decided_at: datetime | None

    @classmethod
    def of(cls, alert: Alert, source: str, customer: str | None) -> AlertOut:
        fields = {name: getattr(alert, name) for name in cls.model_fields if hasattr(alert, name)}
        return cls(**{**fields, "source": source, "customer": customer})


class AlertListOut(BaseModel):
    items: list[AlertOut]
    total: int
    page: int
    pages: int
    counts: dict[str, int] = Field(description="Alerts per view")


class AlertIn(BaseModel):
    """An alert reported by a monitoring tool: the text of an ATES token (or a mail body
    holding one), or its fields. Credentials in a token are never stored."""

    token: Text | None = Field(default=None, description="Text holding an ATES token")
    source: Line | None = Field(default=None, description="The partner application")
    customer_ref: Line | None = None
    device_ref: Line | None = None
    alert_ref: Line | None = None
    ticket_ref: Line | None = None
    title: Line = ""
    text: Text = ""


class ActionIn(BaseModel):
    action: AlertAction
    ticket_number: Annotated[str, Field(max_length=50), AfterValidator(_safe)] | None = Field(
        default=None, description="The ticket to join (action join)"
    )


class ActionOut(BaseModel):
    alert: AlertOut
    message: str


STILL_WORKING: dict[int | str, dict[str, Any]] = {
    202: {"model": ActionOut, "description": "Accepted: Autotask is still working"}
}


class ExplainIn(BaseModel):
    text: Annotated[str, Field(max_length=80_000), AfterValidator(_safe)] = Field(
        description="An alert mail (raw) or an ATES token"
    )


class StepOut(BaseModel):
    label: str
    ok: bool | None
    detail: str


class ExplanationOut(BaseModel):
    token: dict[str, str | None] | None
    credentials_redacted: bool
    steps: list[StepOut]
    verdict: str
    joins_alert_id: int | None
    joins_ticket_id: int | None
    joins_ticket_number: str | None


class MappingOut(BaseModel):
    id: int
    customer_ref: str
    customer_id: int
    customer: str


class SourceOut(BaseModel):
    id: int
    name: str
    create_rule: CreateRule
    device_udf: str
    alert_udf: str
    ticket_udf: str
    mappings: list[MappingOut]
    unmapped: list[str] = Field(description="CustomerIDs of alerts waiting for a mapping")

    @classmethod
    def of(cls, view: sources.SourceView) -> SourceOut:
        return cls(
            id=view.source.id,
            name=view.source.name,
            create_rule=CreateRule(view.source.create_rule),
            device_udf=view.device_udf,
            alert_udf=view.alert_udf,
            ticket_udf=view.ticket_udf,
            mappings=[
                MappingOut(
                    id=m.id,
                    customer_ref=m.customer_ref,
                    customer_id=m.customer_id,
                    customer=m.customer_name,
                )
                for m in view.mappings
            ],
            unmapped=list(view.unmapped),
        )


class SourceIn(BaseModel):
    name: Line


class SourceChange(BaseModel):
    create_rule: CreateRule | None = None
    device_udf: Line | None = Field(default=None, description='"" for "<source> Device ID"')
    alert_udf: Line | None = Field(default=None, description='"" for "<source> Alert ID"')
    ticket_udf: Line | None = Field(default=None, description='"" for "<source> Ticket ID"')


class MappingIn(BaseModel):
    customer_ref: Line = Field(description="The source's CustomerID")
    customer_id: IdField


def _alert_out(ctx: Ctx, alert_id: int) -> AlertOut:
    with ctx.session_factory() as session:
        alert = store.get(session, alert_id)
        source = store.get_source(session, alert.source_id)
        customer = session.get(Customer, alert.customer_id) if alert.customer_id else None
        return AlertOut.of(alert, source.name, customer.name if customer else None)


# --- sources (declared before /{alert_id}) -------------------------------------------------


@router.get("/alerts/sources", response_model=list[SourceOut], summary="Alert sources")
def list_sources(session: DbSession, _: ApiAdmin) -> list[SourceOut]:
    return [SourceOut.of(view) for view in sources.list_sources(session)]


@router.post("/alerts/sources", response_model=SourceOut, status_code=201, summary="Add a source")
def create_source(body: SourceIn, session: DbSession, principal: ApiAdmin) -> SourceOut:
    source = sources.create_source(session, body.name, actor=principal.actor)
    session.commit()
    return SourceOut.of(sources.view(session, source))


@router.patch("/alerts/sources/{source_id}", response_model=SourceOut, summary="Change a source")
def update_source(
    source_id: Id, body: SourceChange, session: DbSession, principal: ApiAdmin
) -> SourceOut:
    """The ticket rule (operator decides, or automatic) and the Autotask UDF names."""
    udfs: dict[str, str | None] = {
        name: getattr(body, name)
        for name in ("device_udf", "alert_udf", "ticket_udf")
        if name in body.model_fields_set
    }
    rule = body.create_rule.value if body.create_rule else None
    source = sources.update_source(
        session, source_id, actor=principal.actor, create_rule=rule, udfs=udfs
    )
    session.commit()
    return SourceOut.of(sources.view(session, source))


@router.post(
    "/alerts/sources/{source_id}/mappings",
    response_model=SourceOut,
    status_code=201,
    summary="Map a CustomerID to a customer",
)
def map_customer(
    source_id: Id, body: MappingIn, session: DbSession, principal: ApiAdmin
) -> SourceOut:
    """Alerts that waited for this CustomerID are correlated again."""
    sources.map_customer(
        session, source_id, body.customer_ref, body.customer_id, actor=principal.actor
    )
    session.commit()
    return SourceOut.of(sources.view(session, store.get_source(session, source_id)))


@router.delete(
    "/alerts/sources/{source_id}/mappings/{mapping_id}", status_code=204, summary="Remove a mapping"
)
def unmap_customer(
    source_id: Id, mapping_id: Id, session: DbSession, principal: ApiAdmin
) -> Response:
    sources.unmap_customer(session, source_id, mapping_id, actor=principal.actor)
    session.commit()
    return Response(status_code=204)


# --- alerts --------------------------------------------------------------------------------


@router.get("/alerts", response_model=AlertListOut, summary="List alerts")
def list_alerts(
    session: DbSession,
    _: ApiReader,
    view: views.AlertView = views.AlertView.ATTENTION,
    customer_id: IdFilter = None,
    page: Page = 1,
    per_page: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AlertListOut:
    """``attention``: new, waiting and being ticketed; ``ticketed``: joined or created a
    ticket; ``ignored``; ``closed``; ``all``."""
    found = views.list_alerts(session, view, customer_id=customer_id, page=page, per_page=per_page)
    return AlertListOut(
        items=[AlertOut.of(r.alert, r.source, r.customer) for r in found.rows],
        total=found.total,
        page=found.page,
        pages=found.pages,
        counts=found.counts,
    )


@router.post("/alerts", response_model=AlertOut, status_code=201, summary="Report an alert")
def report_alert(body: AlertIn, ctx: Ctx, session: DbSession, principal: ApiIngester) -> AlertOut:
    """Recorded at once (state ``new``, or counted on its open alert); correlation with
    Autotask follows within a minute (job ``alerts.process``)."""
    token = intake.token_in_texts(body.token) if body.token else None
    if token is not None:
        report = intake.AlertReport.of(token, title=body.title, summary=body.text)
    else:
        report = intake.AlertReport(
            source=body.source or "",
            customer_ref=body.customer_ref,
            device_ref=body.device_ref,
            alert_ref=body.alert_ref,
            ticket_ref=body.ticket_ref,
            title=body.title,
            summary=body.text,
        )
    if not report.says_something:
        field = "token" if body.token else "customer_ref"
        raise AlertError(field, "no ATES token, CustomerID, DeviceID, AlertID or TicketID given")
    alert = intake.record(session, report, seen_at=ctx.clock(), mail_id=None, now=ctx.clock())
    session.commit()
    return _alert_out(ctx, alert.id)


@router.post(
    "/alert-explanations",
    response_model=ExplanationOut,
    summary="Explain a correlation",
    responses=PSA_ERRORS,
)
def explain_alert(body: ExplainIn, ctx: Ctx, _: ApiReviewer) -> ExplanationOut:
    """Which customer, device and open ticket an alert mail or token would join, and why not.
    Writes nothing; asks Autotask (devices, tickets) when the integration is enabled."""
    result = explainer.explain(ctx, body.text)
    ticket = result.joins_ticket
    return ExplanationOut(
        token=result.token,
        credentials_redacted=result.credentials_redacted,
        steps=[StepOut(label=s.label, ok=s.ok, detail=s.detail) for s in result.steps],
        verdict=result.verdict,
        joins_alert_id=result.joins_alert_id,
        joins_ticket_id=ticket.id if ticket else None,
        joins_ticket_number=ticket.number if ticket else None,
    )


@router.get("/alerts/{alert_id}", response_model=AlertOut, summary="One alert")
def get_alert(alert_id: Id, ctx: Ctx, _: ApiReader) -> AlertOut:
    return _alert_out(ctx, alert_id)


@router.post(
    "/alerts/{alert_id}/actions",
    response_model=ActionOut,
    summary="Create its ticket, join a ticket, or ignore it",
    responses=PSA_ERRORS | STILL_WORKING,
)
def act_on_alert(
    alert_id: Id,
    body: ActionIn,
    ctx: Ctx,
    actions: TicketActions,
    principal: ApiReviewer,
    response: Response,
) -> ActionOut:
    """``create``: a ticket with the Alert ID and Ticket ID UDFs, exactly once; ``join``: an
    open ticket of the same company, by number; ``ignore``: no ticket, repeats still counted.
    Answers 202 with the alert as it stands when Autotask has not answered within about a
    second; the action goes on and the alert shows its outcome."""
    outcome = actions.run(
        lambda: act(
            ctx, alert_id, body.action, actor=principal.actor, ticket_number=body.ticket_number
        )
    )
    if outcome is None:
        response.status_code = 202
        return ActionOut(
            alert=_alert_out(ctx, alert_id),
            message="Autotask is still working; the alert shows the outcome.",
        )
    return ActionOut(alert=_alert_out(ctx, alert_id), message=outcome.message)
