"""API of two-way syncs (docs/sync.md): make, change, delete and run a sync (admin); read the
syncs with their last run and watermarks, a sync's runs with their counts and errors, the
items waiting for a retry, the items flagged for an operator and the conflict log (every role,
viewers too); clear or forget a flag (admin); and the dry run that shows what a run would do,
writing nothing. A sync is enabled only after a dry run."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from ticketbridge.services.sync import admin, flags, syncs
from ticketbridge.services.sync import run as sync_run
from ticketbridge.storage.models.sync import SyncRow
from ticketbridge.web.api.schemas import ERROR_RESPONSES, Id
from ticketbridge.web.api.sync_schemas import (
    ConflictOut,
    DryRunOut,
    FailureOut,
    FlaggedOut,
    FlagResolvedOut,
    PlannedOut,
    RunRequestedOut,
    SyncChangeIn,
    SyncDetailOut,
    SyncIn,
    SyncOut,
    SyncRunOut,
)
from ticketbridge.web.deps import ApiAdmin, ApiViewer, Ctx, DbSession

router = APIRouter(tags=["syncs"], responses=ERROR_RESPONSES)


def _found(session: DbSession, sync_id: int) -> SyncRow:
    row = syncs.get(session, sync_id)
    if row is None:
        raise syncs.UnknownSyncId(sync_id)
    return row


def _detail(row: SyncRow, now: datetime) -> SyncDetailOut:
    running = row.lease_until is not None and row.lease_until > now
    return SyncDetailOut.model_validate(
        {**{k: getattr(row, k) for k in SyncDetailOut.model_fields if k != "running"}}
        | {"running": running, "entities": row.entities or {}}
    )


@router.get("/syncs", response_model=list[SyncOut])
def list_syncs(session: DbSession, _: ApiViewer) -> list[SyncOut]:
    return [SyncOut.model_validate(s, from_attributes=True) for s in syncs.summaries(session)]


@router.post("/syncs", response_model=SyncDetailOut, status_code=201)
def create_sync(body: SyncIn, session: DbSession, ctx: Ctx, principal: ApiAdmin) -> SyncDetailOut:
    """Made disabled: ``enabled`` true is refused (422) as no dry run has been seen yet."""
    if body.enabled:
        raise syncs.SyncRefused("enabled", admin.DRY_RUN_FIRST)
    now = ctx.clock()
    row = syncs.create(
        session,
        name=body.name,
        connection_a=body.connection_a,
        connection_b=body.connection_b,
        start_date=body.start_date,
        actor=principal.actor,
        now=now,
        mapping=body.mapping.model_dump(),
        scope_a=body.scope_a.model_dump(),
        scope_b=body.scope_b.model_dump(),
        a_to_b=body.a_to_b,
        b_to_a=body.b_to_a,
        entities=body.entities.model_dump(),
    )
    row.interval_seconds = body.interval_seconds
    session.commit()
    return _detail(row, now)


@router.get("/syncs/{sync_id}", response_model=SyncDetailOut)
def get_sync(sync_id: Id, session: DbSession, ctx: Ctx, _: ApiViewer) -> SyncDetailOut:
    return _detail(_found(session, sync_id), ctx.clock())


def _change(
    sync_id: int, changes: dict[str, Any], session: DbSession, ctx: Ctx, actor: str
) -> SyncDetailOut:
    row = _found(session, sync_id)
    now = ctx.clock()
    admin.change(session, row, changes, actor=actor, now=now)
    session.commit()
    return _detail(row, now)


@router.put("/syncs/{sync_id}", response_model=SyncDetailOut)
def put_sync(
    sync_id: Id, body: SyncIn, session: DbSession, ctx: Ctx, principal: ApiAdmin
) -> SyncDetailOut:
    """The whole sync as it should be; its connections must stay the ones it was made with."""
    return _change(sync_id, body.model_dump(), session, ctx, principal.actor)


@router.patch("/syncs/{sync_id}", response_model=SyncDetailOut)
def patch_sync(
    sync_id: Id, body: SyncChangeIn, session: DbSession, ctx: Ctx, principal: ApiAdmin
) -> SyncDetailOut:
    """Only the fields sent; ``{"enabled": true}`` once a dry run was seen. A field sent is
    taken whole (a scope sent without its queues has none)."""
    sent = {name: body.model_dump(include={name})[name] for name in body.model_fields_set}
    return _change(sync_id, sent, session, ctx, principal.actor)


@router.delete("/syncs/{sync_id}", status_code=204)
def delete_sync(sync_id: Id, session: DbSession, ctx: Ctx, principal: ApiAdmin) -> Response:
    """With its references, failures, runs and conflict log; 409 while a run holds it."""
    admin.delete_sync(session, _found(session, sync_id), actor=principal.actor, now=ctx.clock())
    session.commit()
    return Response(status_code=204)


@router.post("/syncs/{sync_id}/run", response_model=RunRequestedOut, status_code=202)
def run_sync(sync_id: Id, session: DbSession, ctx: Ctx, principal: ApiAdmin) -> RunRequestedOut:
    """Accepted: the worker starts the run within a minute (its runs then show under
    ``/runs``); asking again before it starts asks for one run."""
    row = _found(session, sync_id)
    admin.request_run(session, row, actor=principal.actor, now=ctx.clock())
    session.commit()
    assert row.run_requested_at is not None
    return RunRequestedOut(sync_id=row.id, run_requested_at=row.run_requested_at)


@router.get("/syncs/{sync_id}/runs", response_model=list[SyncRunOut])
def list_runs(
    sync_id: Id,
    session: DbSession,
    _: ApiViewer,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[SyncRunOut]:
    """Newest first."""
    _found(session, sync_id)
    return [
        SyncRunOut.model_validate(r, from_attributes=True)
        for r in syncs.runs(session, sync_id, limit=limit)
    ]


@router.get("/syncs/{sync_id}/failures", response_model=list[FailureOut])
def list_failures(sync_id: Id, session: DbSession, _: ApiViewer) -> list[FailureOut]:
    """Items that failed, waiting for their retry; the next retry first."""
    _found(session, sync_id)
    return [
        FailureOut.model_validate(f, from_attributes=True) for f in admin.failures(session, sync_id)
    ]


@router.get("/syncs/{sync_id}/conflicts", response_model=list[ConflictOut])
def list_conflicts(
    sync_id: Id,
    session: DbSession,
    _: ApiViewer,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[ConflictOut]:
    """Fields both sides changed: the value kept, the value that lost and both times."""
    _found(session, sync_id)
    return [
        ConflictOut.model_validate(c, from_attributes=True)
        for c in admin.conflicts(session, sync_id, limit=limit)
    ]


@router.get("/syncs/{sync_id}/flagged", response_model=list[FlaggedOut])
def list_flagged(sync_id: Id, session: DbSession, _: ApiViewer) -> list[FlaggedOut]:
    """Items a run left for an operator (a delete is never propagated), with the reason."""
    _found(session, sync_id)
    return [
        FlaggedOut.model_validate(f, from_attributes=True) for f in flags.flagged(session, sync_id)
    ]


ReferenceId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _resolve(
    sync_id: int,
    reference_id: int,
    action: flags.FlagAction,
    session: DbSession,
    ctx: Ctx,
    actor: str,
) -> FlagResolvedOut:
    flags.resolve(
        session, _found(session, sync_id), reference_id, action, actor=actor, now=ctx.clock()
    )
    session.commit()
    return FlagResolvedOut(id=reference_id, action=action)


@router.post("/syncs/{sync_id}/flagged/{reference_id}/clear", response_model=FlagResolvedOut)
def clear_flag(
    sync_id: Id, reference_id: ReferenceId, session: DbSession, ctx: Ctx, principal: ApiAdmin
) -> FlagResolvedOut:
    """Lift the flag: both tickets are read on the next run, and it flags the pair again if
    one is still gone. 404 for an item not flagged (now)."""
    return _resolve(sync_id, reference_id, "clear", session, ctx, principal.actor)


@router.post("/syncs/{sync_id}/flagged/{reference_id}/forget", response_model=FlagResolvedOut)
def forget_flag(
    sync_id: Id, reference_id: ReferenceId, session: DbSession, ctx: Ctx, principal: ApiAdmin
) -> FlagResolvedOut:
    """Remove the entry: the sync no longer knows the pair. 404 for an item not flagged."""
    return _resolve(sync_id, reference_id, "forget", session, ctx, principal.actor)


@router.post("/syncs/{sync_id}/dry-run", response_model=DryRunOut)
def dry_run(sync_id: Id, session: DbSession, ctx: Ctx, _: ApiAdmin) -> DryRunOut:
    """What a run would create and update on each side now, with a sample; nothing is
    written to either PSA or to the sync's state but the time of this dry run."""
    row = _found(session, sync_id)
    session.commit()  # no database connection held while the PSAs answer
    return dry_run_out(sync_run.run(ctx, row.name, dry_run=True))


def dry_run_out(report: sync_run.RunReport) -> DryRunOut:
    diff = report.diff
    counts = (
        {
            f"{side.value}.{kind.value}.{action.value}": n
            for (side, kind, action), n in diff.counts.items()
        }
        if diff is not None
        else {}
    )
    sample = [
        PlannedOut(
            target=p.target.value,
            kind=p.kind.value,
            action=p.action.value,
            source_id=p.source_id,
            label=p.label,
        )
        for p in (diff.sample if diff is not None else ())
    ]
    return DryRunOut(counts=counts, sample=sample, errors=report.errors)
