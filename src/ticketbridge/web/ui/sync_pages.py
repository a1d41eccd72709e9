"""Syncs: the list with each sync's last run and watermarks, and a sync's page with its form,
the dry-run diff, its runs, the items waiting for a retry, the items flagged for an operator
and the conflict log (docs/sync.md).

Every role reads (viewers too); admins make, change, dry-run, run and delete, and clear or
forget a flagged item. The dry run answers with the
page itself (its diff is too large for the one-time message a redirect carries); a run asked
for is started by the worker within a minute.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from ticketbridge.connectors.errors import ConnectorError
from ticketbridge.core.sync.dry_run import DryRunDiff
from ticketbridge.core.sync.reference_map import ItemAction
from ticketbridge.core.sync.sides import Side
from ticketbridge.services.accounts.users import Principal
from ticketbridge.services.connections import named
from ticketbridge.services.sync import admin, flags, syncs
from ticketbridge.services.sync import run as sync_run
from ticketbridge.services.sync.syncs import SyncRefused, UnknownSyncId
from ticketbridge.storage.models.sync import SyncRow
from ticketbridge.web.api.schemas import Id
from ticketbridge.web.api.syncs import ReferenceId
from ticketbridge.web.deps import CsrfChecked, Ctx, DbSession, UiAdmin, UiViewer
from ticketbridge.web.ui import sync_form
from ticketbridge.web.ui.templating import redirect, render

router = APIRouter()
Checked = [CsrfChecked]
LIST = "/syncs"


async def form_data(request: Request) -> FormData:
    return await request.form(max_fields=100)


Posted = Annotated[FormData, Depends(form_data)]


def page_of(sync_id: int) -> str:
    return f"{LIST}/{sync_id}"


def _found(session: DbSession, sync_id: int) -> SyncRow:
    row = syncs.get(session, sync_id)
    if row is None:
        raise UnknownSyncId(sync_id)
    return row


@router.get(LIST, response_class=HTMLResponse)
def syncs_page(request: Request, session: DbSession, principal: UiViewer) -> Response:
    return render(
        request,
        "syncs.html",
        session=session,
        principal=principal,
        syncs=syncs.summaries(session),
        flagged=flags.counts(session),
    )


def _page(
    request: Request,
    session: DbSession,
    principal: Principal,
    row: SyncRow | None,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    diff: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    context: dict[str, Any] = {
        "runs": [],
        "failures": [],
        "conflicts": [],
        "retry_at": {},
        "flagged": [],
    }
    if row is not None:
        failures = admin.failures(session, row.id)
        context = {
            "runs": syncs.runs(session, row.id, limit=20),
            "failures": failures,
            "conflicts": admin.conflicts(session, row.id),
            "flagged": flags.flagged(session, row.id),
            # A run's error names its item as "A 123": when that item's retry is due.
            "retry_at": {f"{f.side.upper()} {f.item_id}": f.next_retry_at for f in failures},
        }
    return render(
        request,
        "sync.html",
        session=session,
        principal=principal,
        status_code=status_code,
        sync=row,
        connections=named.all_connections(session),
        values=values if values is not None else sync_form.values_of(row),
        errors=errors or {},
        diff=diff,
        directions=sync_form.DIRECTIONS,
        tables=sync_form.TABLES,
        entities=admin.ENTITIES,
        **context,
    )


@router.get(f"{LIST}/new", response_class=HTMLResponse)
def new_sync_page(request: Request, session: DbSession, principal: UiAdmin) -> Response:
    return _page(request, session, principal, None)


@router.post(LIST, dependencies=Checked)
def create_sync(
    request: Request, session: DbSession, ctx: Ctx, principal: UiAdmin, form: Posted
) -> Response:
    settings, errors = sync_form.settings_of(form)
    if errors:
        return _refused(request, session, principal, None, form, errors)
    now = ctx.clock()
    try:
        row = syncs.create(
            session,
            name=settings["name"],
            connection_a=settings["connection_a"],
            connection_b=settings["connection_b"],
            start_date=settings["start_date"],
            actor=principal.actor,
            now=now,
            mapping=settings["mapping"],
            scope_a=settings["scope_a"],
            scope_b=settings["scope_b"],
            a_to_b=settings["a_to_b"],
            b_to_a=settings["b_to_a"],
            entities=settings["entities"],
        )
        later = {k: settings[k] for k in ("interval_seconds", "enabled")}
        admin.change(session, row, later, actor=principal.actor, now=now)
    except SyncRefused as exc:
        session.rollback()
        return _refused(request, session, principal, None, form, {exc.field: exc.message})
    session.commit()
    return redirect(request, page_of(row.id), f"Sync {row.name} created; run a dry run next.")


def _refused(
    request: Request,
    session: DbSession,
    principal: Principal,
    row: SyncRow | None,
    form: FormData,
    errors: dict[str, str],
) -> Response:
    values = sync_form.typed(form)
    if row is not None:  # the connections are fixed, not part of the form
        values |= {
            "connection_a": str(row.connection_a_id),
            "connection_b": str(row.connection_b_id),
        }
    return _page(request, session, principal, row, values=values, errors=errors, status_code=422)


@router.get(f"{LIST}/{{sync_id}}", response_class=HTMLResponse)
def sync_page(sync_id: Id, request: Request, session: DbSession, principal: UiViewer) -> Response:
    return _page(request, session, principal, _found(session, sync_id))


@router.post(f"{LIST}/{{sync_id}}", dependencies=Checked)
def change_sync(
    sync_id: Id, request: Request, session: DbSession, ctx: Ctx, principal: UiAdmin, form: Posted
) -> Response:
    row = _found(session, sync_id)
    settings, errors = sync_form.settings_of(form)
    if errors:
        return _refused(request, session, principal, row, form, errors)
    changes = {k: v for k, v in settings.items() if k not in ("connection_a", "connection_b")}
    try:
        admin.change(session, row, changes, actor=principal.actor, now=ctx.clock())
    except SyncRefused as exc:
        session.rollback()
        row = _found(session, sync_id)
        return _refused(request, session, principal, row, form, {exc.field: exc.message})
    session.commit()
    return redirect(request, page_of(sync_id), f"Sync {row.name} saved.")


@router.post(f"{LIST}/{{sync_id}}/dry-run", dependencies=Checked)
def dry_run(
    sync_id: Id, request: Request, session: DbSession, ctx: Ctx, principal: UiAdmin
) -> Response:
    name = _found(session, sync_id).name
    session.commit()  # no database connection held while the PSAs answer
    try:
        report = sync_run.run(ctx, name, dry_run=True)
    except ConnectorError as exc:
        return redirect(request, page_of(sync_id), f"Dry run failed: {exc.message}", "error")
    shown = {"status": report.status, "errors": report.errors[:20], **_diff(report.diff)}
    return _page(request, session, principal, _found(session, sync_id), diff=shown)


def _diff(diff: DryRunDiff | None) -> dict[str, Any]:
    """Per side written: how many creates, updates, links, skips and flags, and the sample."""
    if diff is None:
        return {"counts": {}, "sample": []}
    counts = {
        side.value: {action.value: diff.count(side, action) for action in ItemAction}
        for side in Side
    }
    return {"counts": counts, "sample": list(diff.sample)}


@router.post(f"{LIST}/{{sync_id}}/run", dependencies=Checked)
def run_sync(
    sync_id: Id, request: Request, session: DbSession, ctx: Ctx, principal: UiAdmin
) -> Response:
    row = _found(session, sync_id)
    admin.request_run(session, row, actor=principal.actor, now=ctx.clock())
    session.commit()
    return redirect(
        request, page_of(sync_id), "Run asked for: the worker starts it within a minute."
    )


@router.post(f"{LIST}/{{sync_id}}/delete", dependencies=Checked)
def delete_sync(
    sync_id: Id, request: Request, session: DbSession, ctx: Ctx, principal: UiAdmin
) -> Response:
    row = _found(session, sync_id)
    try:
        admin.delete_sync(session, row, actor=principal.actor, now=ctx.clock())
    except admin.SyncInUse as exc:
        return redirect(request, page_of(sync_id), exc.message, "error")
    session.commit()
    return redirect(request, LIST, f"Sync {row.name} deleted.")


@router.post(f"{LIST}/{{sync_id}}/flagged/{{reference_id}}/{{action}}", dependencies=Checked)
def resolve_flag(
    sync_id: Id,
    reference_id: ReferenceId,
    action: flags.FlagAction,
    request: Request,
    session: DbSession,
    ctx: Ctx,
    principal: UiAdmin,
) -> Response:
    row = _found(session, sync_id)
    try:
        entry = flags.resolve(
            session, row, reference_id, action, actor=principal.actor, now=ctx.clock()
        )
    except flags.UnknownFlag as exc:
        return redirect(request, page_of(sync_id), str(exc), "error")
    session.commit()
    said = {
        "clear": "flag cleared: both tickets are read again on the next run",
        "forget": "forgotten: the sync no longer pairs them",
    }[action]
    return redirect(request, page_of(sync_id), f"{entry.a_id} / {entry.b_id}: {said}.")
