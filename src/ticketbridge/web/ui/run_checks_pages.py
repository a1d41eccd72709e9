"""Run Checks: the review queue, its bulk actions, and taking a review back.

Plain forms that work without script (static/run_checks.js only adds keys and select-all).
Every action form carries the page's filters and the newest run id the page knew of, so it
reaches exactly what the page showed: never a run that arrived later. A review's message is
shown where the reviewed rows stood, and the redirect scrolls there.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from ticketbridge.core.roles import Permission, can
from ticketbridge.core.run_order import QUEUE_ORDER, Sort, SortKey, may_undo_review
from ticketbridge.services.runs import catalog
from ticketbridge.services.runs import checks as run_checks
from ticketbridge.services.runs import pages as run_pages
from ticketbridge.services.runs import records as runs
from ticketbridge.services.runs import review as run_review
from ticketbridge.services.runtime import Runtime
from ticketbridge.storage.models import Job, Run
from ticketbridge.web.api.schemas import MAX_ID, IdField
from ticketbridge.web.deps import CsrfChecked, Ctx, DbSession, UiReader, UiReviewer
from ticketbridge.web.ui import duplicate_pages, ticket_pages
from ticketbridge.web.ui.run_checks_query import RunChecksQuery, parse_posted
from ticketbridge.web.ui.templating import local_path, render, ui_zone

router = APIRouter()
Params = Annotated[RunChecksQuery, Query()]
MESSAGE_ANCHOR = "review-message"
Ids = Annotated[list[IdField] | None, Form()]
OptionalIdForm = Annotated[IdField | None, Form()]


def _grace(ctx: Runtime) -> timedelta:
    return timedelta(minutes=ctx.settings.review_undo_minutes)


@router.get("/run-checks", response_class=HTMLResponse)
def run_checks_page(
    request: Request, ctx: Ctx, session: DbSession, principal: UiReader, params: Params
) -> Response:
    filters = params.run_filter(ui_zone(request, session))
    cursor, last = params.page_cursor()
    if params.grouped:
        jobs = run_checks.job_page(session, filters, params.sort, cursor, last=last)
        rows: list[Any] = jobs.rows
        links, totals = jobs.links, jobs.totals
        shown = [run for row in jobs.rows for run in row.runs]
        keys = [row.key for row in jobs.rows]
    else:
        page = run_pages.run_page(session, filters, params.sort, cursor, last=last)
        rows, links, shown = page.runs, page.links, page.runs
        keys = [run_pages.run_key(run, params.sort) for run in page.runs]
        totals = run_checks.totals(session, filters)
    tickets = ticket_pages.for_runs(ctx, session, [run.id for run in shown])
    message, ticket_flash = _messages(request)
    now, is_admin = ctx.clock(), can(principal.role, Permission.ADMIN)
    customers = catalog.list_customers(session)
    job = session.get(Job, params.job_id) if params.job_id else None
    return render(
        request,
        "run_checks.html",
        session=session,
        principal=principal,
        q=params,
        grouped=params.grouped,
        rows=rows,
        links=links,
        totals=totals,
        job=job,
        customers=customers,
        products=runs.products(session),
        statuses=QUEUE_ORDER,
        sorts=list(Sort),
        flash=ticket_flash,
        message=message,
        message_at=_place(message, keys, params.sort),
        opened=_opened(rows, params.grouped, ticket_flash, message),
        select_all=request.query_params.get("select") == "all",
        here=params.url(cursor=params.cursor),
        tickets=tickets,
        job_tickets=_job_tickets(rows, tickets) if params.grouped else {},
        duplicate_runs=duplicate_pages.for_runs(session, [run.id for run in shown]),
        may_undo=lambda run: may_undo_review(
            reviewed_at=run.reviewed_at,
            reviewed_by=run.reviewed_by,
            actor=principal.actor,
            is_admin=is_admin,
            now=now,
            grace=_grace(ctx),
        ),
        undo_minutes=ctx.settings.review_undo_minutes,
    )


def _job_tickets(rows: list[Any], tickets: dict[int, Any]) -> dict[int, Any]:
    """A job row's ticket: that of its first run (in the row's order) that has one."""
    found = {}
    for row in rows:
        for run in row.runs:
            if tickets[run.id].link is not None:
                found[row.job.id] = tickets[run.id]
                break
    return found


def _messages(request: Request) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(the page's message, a ticket's message): a ticket's stands in its run's row."""
    found = request.session.pop("flash", None)
    if found and found.get("run_id"):
        return None, found
    return found, None


def _place(message: dict[str, Any] | None, keys: list[SortKey], sort: Sort) -> int:
    """Where the message goes: before the first row at or after the acted-on rows' place."""
    near = (message or {}).get("near")
    if not near:
        return 0
    spot = SortKey(int(near[0]), datetime.fromisoformat(near[1]), int(near[2]))
    for index, key in enumerate(keys):
        if (key >= spot) if sort.ascending else (key <= spot):
            return index
    return len(keys)


def _opened(
    rows: list[Any], grouped: bool, ticket: dict[str, Any] | None, message: dict[str, Any] | None
) -> set[int]:
    """Job rows shown expanded: a page of one job, the job a ticket message is about, and the
    job just acted on."""
    if not grouped:
        return set()
    if len(rows) == 1:
        return {rows[0].job.id}
    wanted = set((message or {}).get("open") or [])
    if ticket:
        wanted |= {row.job.id for row in rows if any(r.id == ticket["run_id"] for r in row.runs)}
    return wanted


# --- actions ----------------------------------------------------------------------------------


def _back(return_to: str, params: RunChecksQuery) -> str:
    back = local_path(return_to, params.url())
    return f"{back}#{MESSAGE_ANCHOR}" if back.startswith("/run-checks") else back


# The message rides in the session cookie to the next page: a typed note comes back only when
# short, and at most this many job rows are reopened.
KEPT_NOTE_BYTES = 500
OPENED_JOBS = 20


def _say(request: Request, message: str, kind: str = "ok", **extra: Any) -> None:
    if len(extra.get("note", "").encode()) > KEPT_NOTE_BYTES:
        extra["note"] = ""
    extra["open"] = list(extra.get("open") or [])[:OPENED_JOBS]
    request.session["flash"] = {"message": message, "kind": kind, "run_id": None, **extra}


def _runs(count: int) -> str:
    return f"{count:,} run{'s' if count != 1 else ''}"


@router.post("/run-checks/review", dependencies=[CsrfChecked])
def review_runs(
    request: Request,
    ctx: Ctx,
    session: DbSession,
    principal: UiReviewer,
    run_ids: Ids = None,
    job_ids: Ids = None,
    only: OptionalIdForm = None,
    only_job: OptionalIdForm = None,
    action: Annotated[
        Literal["selected", "matching", "successes", "confirmed"], Form()
    ] = "selected",
    note: Annotated[str, Form(max_length=2000)] = "",
    filter: Annotated[str, Form(max_length=4000)] = "",
    upto: Annotated[int | None, Form(ge=0, le=MAX_ID)] = None,
    confirmed: Annotated[int | None, Form(ge=0, le=MAX_ID)] = None,
    return_to: Annotated[str, Form()] = "",
) -> Response:
    """Review what was selected (runs, and jobs with every run of theirs the page's filters
    match), a row's own runs, every Success, or everything the filters match (after a
    confirmation page). The note goes to exactly those runs."""
    params = parse_posted(filter)
    if params is None:
        # Filters this version cannot read (a page from before an upgrade, or tampered
        # with): never fall back to no filter, which would reach every run in the queue.
        _say(request, "This page is out of date: nothing was reviewed. Reload it and try again.",
             "error")  # fmt: skip
        return RedirectResponse(_back(return_to, RunChecksQuery()), status_code=303)
    back = _back(return_to, params)
    filters = params.run_filter(ui_zone(request, session))
    if upto is not None:
        filters = replace(filters, upto=upto)
    if action == "matching" and only is None and only_job is None:
        query = [*params.pairs(), *([("upto", str(upto))] if upto is not None else [])]
        query.append(("note", note.strip()))
        return RedirectResponse(f"/run-checks/confirm?{urlencode(query)}", status_code=303)
    if only is not None:
        ids, touched = [only], _jobs_of(session, [only])
    elif only_job is not None:
        ids, touched = run_review.jobs_runs(session, filters, [only_job]), [only_job]
    elif action == "successes":
        ids, touched = run_review.matching_ids(session, run_review.successes_of(filters)), []
    elif action == "confirmed":
        ids, touched = run_review.matching_ids(session, filters), []
    else:
        from_jobs = run_review.jobs_runs(session, filters, job_ids or [])
        ids = list(dict.fromkeys([*(run_ids or []), *from_jobs]))
        touched = list(dict.fromkeys([*_jobs_of(session, run_ids or []), *(job_ids or [])]))
    if not ids:
        nothing = "Nothing to review: those runs had been reviewed meanwhile."
        asked = action in ("selected",) and only is None and only_job is None
        _say(request, "Select at least one run or job to review." if asked else nothing,
             "error", note=note)  # fmt: skip
        return RedirectResponse(back, status_code=303)
    near = _near(session, params, filters, ids, touched)
    bulk = action in ("successes", "confirmed") and only is None and only_job is None
    customers = {c.id: c.name for c in catalog.list_customers(session)} if bulk else {}
    done = run_review.review_ids(
        session,
        ids,
        actor=principal.actor,
        note=note,
        now=ctx.clock(),
        matching=params.describe(customers) if bulk else "",
    )
    session.commit()
    expected = confirmed if action == "confirmed" and confirmed is not None else len(ids)
    text = f"Reviewed {_runs(done.count)}."
    if done.count < expected:
        text += f" {_runs(expected - done.count)} had been reviewed meanwhile."
    undo = done.at.isoformat() if done.count and ctx.settings.review_undo_minutes else None
    _say(request, text, "ok" if done.count else "error", near=near, undo=undo, open=touched)
    return RedirectResponse(back, status_code=303)


def _jobs_of(session: Session, run_ids: list[int]) -> list[int]:
    if not run_ids:
        return []
    return list(session.scalars(select(Run.job_id).where(Run.id.in_(run_ids)).distinct()))


def _near(
    session: Session,
    params: RunChecksQuery,
    filters: runs.RunFilter,
    run_ids: list[int],
    job_ids: list[int],
) -> list[Any] | None:
    """The place of the first acted-on row in the page's order, before the action moves it."""
    if params.grouped:
        keys = run_checks.job_keys(session, filters, params.sort, job_ids) if job_ids else []
    else:
        keys = run_pages.run_keys(session, params.sort, run_ids[:1000])
    if not keys:
        return None
    spot = min(keys) if params.sort.ascending else max(keys)
    return [spot.rank, spot.at.isoformat(), spot.id]


@router.get("/run-checks/confirm", response_class=HTMLResponse)
def confirm_review(
    request: Request,
    session: DbSession,
    principal: UiReviewer,
    params: Params,
    upto: Annotated[int | None, Query(ge=0, le=MAX_ID)] = None,
    note: Annotated[str, Query(max_length=2000)] = "",
) -> Response:
    """Review everything the filters match: the count, what it means, and one more click."""
    filters = params.run_filter(ui_zone(request, session))
    totals = run_checks.totals(session, filters)
    upto = totals.upto if upto is None else min(upto, totals.upto)
    count = len(run_review.matching_ids(session, replace(filters, upto=upto)))
    customers = {c.id: c.name for c in catalog.list_customers(session)}
    job = session.get(Job, params.job_id) if params.job_id else None
    return render(
        request,
        "run_checks_confirm.html",
        session=session,
        principal=principal,
        q=params,
        count=count,
        upto=upto,
        note=note,
        described=params.describe(customers, job.job_name if job else None),
    )


@router.post("/run-checks/unreview", dependencies=[CsrfChecked])
def unreview_runs(
    request: Request,
    ctx: Ctx,
    session: DbSession,
    principal: UiReviewer,
    run_ids: Ids = None,
    reviewed_at: Annotated[str, Form(max_length=64)] = "",
    filter: Annotated[str, Form(max_length=4000)] = "",
    return_to: Annotated[str, Form()] = "",
) -> Response:
    """Undo: the runs of one review action (its time), or the runs named, back in the queue."""
    params = parse_posted(filter) or RunChecksQuery()
    back = _back(return_to, params)
    stamp = _moment(reviewed_at)
    if stamp is None and not run_ids:
        _say(request, "Nothing to undo.", "error")
        return RedirectResponse(back, status_code=303)
    undone = runs.unreview(
        session,
        actor=principal.actor,
        is_admin=can(principal.role, Permission.ADMIN),
        now=ctx.clock(),
        grace=_grace(ctx),
        run_ids=run_ids or (),
        reviewed_at=stamp,
    )
    session.commit()
    if not undone.count:
        minutes = ctx.settings.review_undo_minutes
        _say(request, f"Not undone: a review can be taken back within {minutes} minutes, by "
             "whoever made it or an admin.", "error")  # fmt: skip
        return RedirectResponse(back, status_code=303)
    filters = params.run_filter(ui_zone(request, session))
    ids = undone.run_ids[:1000]
    touched = _jobs_of(session, ids)
    near = _near(session, params, filters, ids, touched)
    text = f"Review taken back: {_runs(undone.count)} waiting for review again."
    if undone.refused:
        text += f" {_runs(undone.refused)} could not be taken back."
    _say(request, text, near=near, open=touched)
    return RedirectResponse(back, status_code=303)


def _moment(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None
