"""API of the change webhooks that start syncs early (docs/sync.md): a connection's secret
made (shown once) or removed, and the endpoints listed (admin)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from ticketbridge.services.sync import hooks
from ticketbridge.web.api.schemas import ERROR_RESPONSES, Id
from ticketbridge.web.deps import ApiAdmin, Ctx, DbSession

router = APIRouter(tags=["syncs"], responses=ERROR_RESPONSES)


class SyncHookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    connection: Annotated[str, StringConstraints(min_length=1, max_length=100)] = Field(
        description="A connection's name or id, of a kind that posts change webhooks (Jira)"
    )


class SyncHookOut(BaseModel):
    connection_id: int
    connection: str
    kind: str
    path: str = Field(description="Where the PSA posts its changes: <base URL> + this path")
    created_by: str
    created_at: datetime
    last_received_at: datetime | None


class SyncHookMadeOut(SyncHookOut):
    secret: str = Field(description="Shown this once: the webhook's secret in the PSA")


@router.get("/sync-hooks", response_model=list[SyncHookOut])
def list_hooks(session: DbSession, _: ApiAdmin) -> list[SyncHookOut]:
    return [SyncHookOut.model_validate(v, from_attributes=True) for v in hooks.views(session)]


@router.post("/sync-hooks", response_model=SyncHookMadeOut, status_code=201)
def make_hook(
    body: SyncHookIn, session: DbSession, ctx: Ctx, principal: ApiAdmin
) -> SyncHookMadeOut:
    """A new secret for the connection's change webhook; a previous one stops working."""
    view, secret = hooks.make_secret(
        ctx, session, body.connection, actor=principal.actor, now=ctx.clock()
    )
    session.commit()
    return SyncHookMadeOut.model_validate(
        {**SyncHookOut.model_validate(view, from_attributes=True).model_dump(), "secret": secret}
    )


@router.delete("/sync-hooks/{connection_id}", status_code=204)
def remove_hook(connection_id: Id, session: DbSession, principal: ApiAdmin) -> Response:
    """Its posts are refused (404) from now on; 404 when it had none."""
    if not hooks.remove(session, connection_id, actor=principal.actor):
        raise HTTPException(404, "this connection has no change webhook")
    session.commit()
    return Response(status_code=204)
