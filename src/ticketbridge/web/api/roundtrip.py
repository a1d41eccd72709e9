"""Admin API of the Autotask round trip (docs/round-trip.md): where it stands, the callouts we
accept, the requests received (and replaying one), webhook registration, polling now.

A callout's password is shown once, in the answer that set it, and never again. Everything
here is admin-only and audited by the services.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field

from ticketbridge.services.roundtrip import (
    RoundtripInputError,
    RoundtripNotFound,
    config,
    hook_log,
    polling,
    status,
    webhooks,
)
from ticketbridge.services.roundtrip.replay import replay
from ticketbridge.storage.models import HookRequest, WebhookRegistration
from ticketbridge.web.api.schemas import ERROR_RESPONSES, ErrorOut, Id, IdFilter, RemoteIdField
from ticketbridge.web.deps import ApiAdmin, Ctx, DbSession

UPSTREAM: dict[int | str, dict[str, Any]] = {502: {"model": ErrorOut}, 503: {"model": ErrorOut}}
router = APIRouter(prefix="/roundtrip", tags=["round trip"], responses=ERROR_RESPONSES)

Format = Literal["name_value", "soap", "xml_rpc"]
# graph: a mail source's change notification; sync: a sync's change webhook (services/sync).
Channel = Literal["callout", "webhook", "deactivation", "graph", "sync"]


def _invalid(exc: RoundtripInputError) -> HTTPException:
    return HTTPException(
        422, "invalid input: " + "; ".join(f"{k}: {v}" for k, v in exc.errors.items())
    )


def _missing(exc: RoundtripNotFound) -> HTTPException:
    return HTTPException(404, exc.message)


# --- models --------------------------------------------------------------------------------


class CalloutOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    url: str = Field(description="Copy into Autotask's Extension Callout form")
    username: str
    format: Format
    udf_filter: str | None
    active: bool
    created_by: str
    created_at: datetime
    last_received_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None


class CalloutCreatedOut(CalloutOut):
    password: str = Field(description="Shown once: enter it in Autotask now")


class CalloutIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=50, description="URL segment: a-z, 0-9, dashes")
    username: str = Field(default="autotask", min_length=1, max_length=100)
    format: Format = "name_value"
    udf_filter: str | None = Field(default=None, max_length=255)
    password: str | None = Field(
        default=None, min_length=16, max_length=200, description="Generated when omitted"
    )


class CalloutPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str | None = Field(default=None, min_length=1, max_length=100)
    format: Format | None = None
    udf_filter: str | None = Field(default=None, max_length=255, description="Empty clears it")
    active: bool | None = None
    new_password: bool = Field(default=False, description="Generate a new password (shown once)")


class CalloutPatchedOut(CalloutOut):
    password: str | None = Field(description="The new password when one was generated")


class WebhookOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    remote_id: int | None
    guid: str | None
    state: Literal["registering", "ready", "not_ready", "failed", "deactivated", "removed"]
    webhook_url: str
    deactivation_url: str
    excluded_resource_id: int | None
    created_by: str
    created_at: datetime
    registered_at: datetime | None
    checked_at: datetime | None
    deactivated_at: datetime | None
    last_received_at: datetime | None = None
    last_error: str | None
    last_error_at: datetime | None

    @classmethod
    def of(cls, row: WebhookRegistration, last: datetime | None = None) -> WebhookOut:
        return cls.model_validate(row).model_copy(update={"last_received_at": last})


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    excluded_resource_id: RemoteIdField | None = Field(
        default=None, description="Our API user's resource; found in Autotask when omitted"
    )


class PollOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    started_at: datetime
    finished_at: datetime | None
    since: datetime | None
    ok: bool
    error: str | None
    requests: int
    changed: int
    linked: int
    counted: int
    announced: int
    unannounced: int
    applied: int
    unannounced_ids: list[int] | None


class CoverageOut(BaseModel):
    counted: int = Field(description="Changes of linked tickets by others, last 24 hours")
    announced: int
    unannounced: int
    share: float | None


class RoundtripOut(BaseModel):
    enabled: bool
    review_on_complete: bool
    watermark: datetime | None
    last_poll_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    own_resource_id: int | None
    callouts: list[CalloutOut]
    webhooks: list[WebhookOut]
    polls: list[PollOut]
    coverage: CoverageOut
    fetches_due: int
    fetch_errors: int
    warning: str | None


class SettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    review_on_complete: bool = Field(
        description="Mark a run reviewed when its ticket is completed in Autotask"
    )


class RequestOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    channel: Channel
    endpoint: str
    method: str
    received_at: datetime
    outcome: str
    error: str | None
    ticket_id: int | None
    parsed: dict[str, Any] | None
    replays: int
    replayed_at: datetime | None


class RequestDetailOut(RequestOut):
    query: str
    headers: dict[str, str]
    body: str = Field(description="The raw body as text (UTF-8, undecodable bytes replaced)")

    @classmethod
    def of(cls, row: HookRequest) -> RequestDetailOut:
        return cls.model_validate(
            RequestOut.model_validate(row).model_dump()
            | {
                "query": row.query,
                "headers": row.headers,
                "body": row.body.decode("utf-8", "replace"),
            }
        )


class PollNowOut(BaseModel):
    ok: bool
    requests: int
    changed: int
    linked: int
    counted: int
    announced: int
    unannounced: int
    applied: int
    error: str | None
    fetched: int = Field(description="Hinted tickets read after the poll")


# --- routes --------------------------------------------------------------------------------


@router.get("", response_model=RoundtripOut)
def get_roundtrip(session: DbSession, ctx: Ctx, principal: ApiAdmin) -> RoundtripOut:
    shown = status.status(session, ctx.clock())
    state = shown.state
    return RoundtripOut(
        enabled=shown.enabled,
        review_on_complete=state.review_on_complete,
        watermark=state.watermark,
        last_poll_at=state.last_poll_at,
        last_success_at=state.last_success_at,
        last_error=state.last_error,
        own_resource_id=state.own_resource_id,
        callouts=[CalloutOut.model_validate(c) for c in shown.callouts],
        webhooks=[WebhookOut.of(w.row, w.last_received_at) for w in shown.webhooks],
        polls=[PollOut.model_validate(p) for p in shown.polls],
        coverage=CoverageOut(
            counted=shown.coverage.counted,
            announced=shown.coverage.announced,
            unannounced=shown.coverage.unannounced,
            share=shown.coverage.share,
        ),
        fetches_due=shown.fetches_due,
        fetch_errors=shown.fetch_errors,
        warning=shown.warning,
    )


@router.put("/settings", response_model=SettingsIn)
def put_settings(body: SettingsIn, session: DbSession, principal: ApiAdmin) -> SettingsIn:
    config.set_review_on_complete(session, body.review_on_complete, actor=principal.name)
    session.commit()
    return body


def _callout_out(session: DbSession, callout_id: int) -> CalloutOut:
    base = config.base_url(session)
    view = next(c for c in config.list_callouts(session, base) if c.id == callout_id)
    return CalloutOut.model_validate(view)


@router.post("/callouts", response_model=CalloutCreatedOut, status_code=201)
def create_callout(
    body: CalloutIn, session: DbSession, ctx: Ctx, principal: ApiAdmin
) -> CalloutCreatedOut:
    try:
        row, password = config.create_callout(
            session, ctx.secret_box, name=body.name, username=body.username, fmt=body.format,
            udf_filter=body.udf_filter, actor=principal.name, now=ctx.clock(),
            password=body.password,
        )  # fmt: skip
    except RoundtripInputError as exc:
        raise _invalid(exc) from None
    session.commit()
    out = _callout_out(session, row.id)
    return CalloutCreatedOut.model_validate(out.model_dump() | {"password": password})


@router.patch("/callouts/{callout_id}", response_model=CalloutPatchedOut)
def update_callout(
    callout_id: Id, body: CalloutPatch, session: DbSession, ctx: Ctx, principal: ApiAdmin
) -> CalloutPatchedOut:
    password = config.new_password() if body.new_password else None
    try:
        config.update_callout(
            session, ctx.secret_box, callout_id, actor=principal.name, username=body.username,
            fmt=body.format, udf_filter=body.udf_filter, active=body.active, password=password,
        )  # fmt: skip
    except RoundtripNotFound as exc:
        raise _missing(exc) from None
    except RoundtripInputError as exc:
        raise _invalid(exc) from None
    session.commit()
    out = _callout_out(session, callout_id)
    return CalloutPatchedOut.model_validate(out.model_dump() | {"password": password})


@router.get("/requests", response_model=list[RequestOut])
def list_requests(
    session: DbSession,
    principal: ApiAdmin,
    channel: Channel | None = None,
    outcome: Annotated[str | None, Query(max_length=20)] = None,
    ticket_id: Annotated[int | None, Query(ge=1, le=2**53 - 1)] = None,
    before_id: IdFilter = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[RequestOut]:
    rows = hook_log.listing(
        session, channel=channel, outcome=outcome, ticket_id=ticket_id, before_id=before_id,
        limit=limit,
    )  # fmt: skip
    return [RequestOut.model_validate(r) for r in rows]


@router.get("/requests/{request_id}", response_model=RequestDetailOut)
def get_request(request_id: Id, session: DbSession, principal: ApiAdmin) -> RequestDetailOut:
    row = hook_log.get(session, request_id)
    if row is None:
        raise HTTPException(404, f"request {request_id} does not exist")
    return RequestDetailOut.of(row)


@router.post("/requests/{request_id}/replay", response_model=RequestOut)
def replay_request(request_id: Id, ctx: Ctx, principal: ApiAdmin) -> RequestOut:
    try:
        row = replay(ctx, request_id, actor=principal.name)
    except RoundtripNotFound as exc:
        raise _missing(exc) from None
    except RoundtripInputError as exc:
        raise HTTPException(409, "; ".join(exc.errors.values())) from None
    return RequestOut.model_validate(row)


@router.post("/webhooks", response_model=WebhookOut, status_code=201, responses=UPSTREAM)
def register_webhook(body: WebhookIn, ctx: Ctx, principal: ApiAdmin) -> WebhookOut:
    """Registers a ticket webhook in Autotask; a failure is kept on the registration
    (``state`` failed, ``last_error``) and answered 201 all the same: it is shown there."""
    try:
        row = webhooks.register(
            ctx, actor=principal.name, excluded_resource_id=body.excluded_resource_id
        )
    except RoundtripInputError as exc:
        raise _invalid(exc) from None
    return WebhookOut.of(row)


@router.delete("/webhooks/{registration_id}", response_model=WebhookOut, responses=UPSTREAM)
def remove_webhook(registration_id: Id, ctx: Ctx, principal: ApiAdmin) -> WebhookOut:
    try:
        row = webhooks.remove(ctx, registration_id, actor=principal.name)
    except RoundtripNotFound as exc:
        raise _missing(exc) from None
    return WebhookOut.of(row)


@router.post("/poll", response_model=PollNowOut, responses=UPSTREAM)
def poll_now(ctx: Ctx, principal: ApiAdmin) -> PollNowOut:
    """Poll now, then read the tickets hints asked about. 409 while the integration is
    disabled (nothing is sent)."""
    result = polling.poll(ctx)
    if result is None:
        raise HTTPException(409, "The Autotask integration is disabled.")
    fetched = polling.fetch_hinted(ctx)
    return PollNowOut(
        ok=result.ok,
        requests=result.requests + (fetched.requests if fetched else 0),
        changed=result.changed,
        linked=result.linked,
        counted=result.counted,
        announced=result.announced,
        unannounced=result.unannounced,
        applied=result.applied,
        error=result.error,
        fetched=fetched.fetched if fetched else 0,
    )
