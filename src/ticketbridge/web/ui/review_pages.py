"""Dashboard, Run Checks and Job Details: the pages operators live in (Run Checks itself is
web/ui/run_checks_pages.py)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ticketbridge.core.timezones import to_zone
from ticketbridge.services.runs import catalog, dashboard
from ticketbridge.services.runs import pages as run_pages
from ticketbridge.services.runs import records as runs
from ticketbridge.web.api.schemas import Id, IdFilter
from ticketbridge.web.deps import Ctx, DbSession, UiReader, UiViewer
from ticketbridge.web.ui import duplicate_pages, run_checks_pages, ticket_pages
from ticketbridge.web.ui.run_checks_query import history_cursor
from ticketbridge.web.ui.schedule_pages import job_schedule_context
from ticketbridge.web.ui.templating import render, ui_zone

router = APIRouter()
router.include_router(run_checks_pages.router)


@router.get("/", response_class=HTMLResponse)
def dashboard_page(
    request: Request,
    ctx: Ctx,
    session: DbSession,
    principal: UiViewer,
    expand: Annotated[list[int] | None, Query(max_length=1000)] = None,
    problems: bool = False,
) -> Response:
    """The grid; ``expand`` (repeatable) opens customers to their jobs, ``problems`` keeps the
    customers with anything but success. Both live in the URL, so the page works without
    JavaScript and a view can be shared."""
    zone = ui_zone(request, session)
    opened = frozenset(expand or ())
    matrix = dashboard.status_matrix(
        session, now=ctx.clock(), zone=zone, expand=opened, problems_only=problems
    )
    days = [day for day, _, _ in dashboard.day_bounds(to_zone(ctx.clock(), zone).date(), zone)]

    def url(ids: frozenset[int], problems_only: bool) -> str:
        query = [("problems", "1")] if problems_only else []
        query += [("expand", str(i)) for i in sorted(ids)]
        return f"/?{urlencode(query)}" if query else "/"

    return render(
        request,
        "dashboard.html",
        session=session,
        principal=principal,
        matrix=matrix,
        days=days,
        unreviewed=runs.unreviewed_count(session),
        problems_only=problems,
        legend_items=dashboard.legend(),
        switch_url=lambda problems_only: url(opened, problems_only),
        toggle_url=lambda cid: f"{url(opened ^ {cid}, problems)}#customer-{cid}",
    )


@router.get("/jobs", response_class=HTMLResponse)
def jobs_page(
    request: Request, session: DbSession, principal: UiReader, customer_id: IdFilter = None
) -> Response:
    return render(
        request,
        "jobs.html",
        session=session,
        principal=principal,
        jobs=catalog.list_jobs(session, customer_id=customer_id),
    )


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_details(
    request: Request,
    job_id: Id,
    ctx: Ctx,
    session: DbSession,
    principal: UiReader,
    cursor: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """A job and its runs, newest first, paged by cursor (the last page as quick as the first)."""
    job = catalog.get_job(session, job_id)
    at, last = history_cursor(cursor)
    history = run_pages.job_history(session, job_id, at, last=last)
    return render(
        request,
        "job.html",
        session=session,
        principal=principal,
        job=job,
        history=history,
        history_url=lambda c: f"/jobs/{job_id}?cursor={c}#history" if c else f"/jobs/{job_id}",
        **job_schedule_context(session, job_id, ctx.clock(), ui_zone(request, session)),
    )


@router.get("/jobs/{job_id}/runs/{run_id}", response_class=HTMLResponse)
def run_details(
    request: Request,
    job_id: int,  # only compared, never looked up: any number (links use 0) redirects
    run_id: Id,
    ctx: Ctx,
    session: DbSession,
    principal: UiReader,
) -> Response:
    run = runs.get_run(session, run_id)
    if run.job_id != job_id:
        # The deep link carries both ids; a stale job id still finds the run.
        return RedirectResponse(f"/jobs/{run.job_id}/runs/{run.id}", status_code=307)
    return render(
        request, "run.html", session=session, principal=principal, run=run, job=run.job,
        ticket=ticket_pages.for_run(ctx, session, run.id),
        duplicates=duplicate_pages.for_run(ctx, session, run.id),
    )  # fmt: skip
