"""Dashboard, Run Checks and Job Details: the pages operators live in."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from itertools import groupby
from typing import Annotated
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ticketbridge.core.statuses import RunStatus
from ticketbridge.core.timezones import to_zone
from ticketbridge.services import catalog, dashboard, runs
from ticketbridge.web.api.schemas import DayFilter, Id, IdField, IdFilter, Page
from ticketbridge.web.deps import CsrfChecked, Ctx, DbSession, UiReader, UiReviewer, UiViewer
from ticketbridge.web.ui import duplicate_pages, ticket_pages
from ticketbridge.web.ui.schedule_pages import job_schedule_context
from ticketbridge.web.ui.templating import local_path, pager_base, redirect, render, ui_zone

router = APIRouter()
PER_PAGE = 50


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


def _local_bound(day: date | None, zone: str, *, end: bool) -> datetime | None:
    if day is None:
        return None
    moment = datetime.combine(day + timedelta(days=1) if end else day, time.min, ZoneInfo(zone))
    return moment


def _run_filter(
    zone: str,
    customer_id: int | None,
    status: list[RunStatus],
    product: str | None,
    date_from: date | None,
    date_to: date | None,
    reviewed: str,
) -> runs.RunFilter:
    return runs.RunFilter(
        customer_id=customer_id,
        statuses=tuple(status),
        product=product or None,
        since=_local_bound(date_from, zone, end=False),
        until=_local_bound(date_to, zone, end=True),
        reviewed={"no": False, "yes": True}.get(reviewed),
    )


@router.get("/run-checks", response_class=HTMLResponse)
def run_checks_page(
    request: Request,
    ctx: Ctx,
    session: DbSession,
    principal: UiReader,
    customer_id: IdFilter = None,
    status: Annotated[list[RunStatus] | None, Query()] = None,
    product: str | None = None,
    date_from: DayFilter = None,
    date_to: DayFilter = None,
    reviewed: Annotated[str, Query(pattern="^(no|yes|all)$")] = "no",
    page: Page = 1,
) -> Response:
    filters = _run_filter(
        ui_zone(request, session), customer_id, status or [], product, date_from, date_to, reviewed
    )
    result = runs.run_checks(session, filters, page=page, per_page=PER_PAGE)
    groups = [(job, list(items)) for job, items in groupby(result.runs, key=lambda run: run.job)]
    query = request.url.query
    return render(
        request,
        "run_checks.html",
        session=session,
        principal=principal,
        groups=groups,
        result=result,
        customers=catalog.list_customers(session),
        products=runs.products(session),
        statuses=list(RunStatus),
        selected={
            "customer_id": customer_id,
            "status": [s.value for s in status or []],
            "product": product or "",
            "date_from": date_from.isoformat() if date_from else "",
            "date_to": date_to.isoformat() if date_to else "",
            "reviewed": reviewed,
        },
        return_to=f"/run-checks?{query}" if query else "/run-checks",
        pager_base=pager_base(request),
        tickets=ticket_pages.for_runs(ctx, session, [run.id for run in result.runs]),
        duplicate_runs=duplicate_pages.for_runs(session, [run.id for run in result.runs]),
    )


@router.post("/run-checks/review", dependencies=[CsrfChecked])
def review_runs(
    request: Request,
    session: DbSession,
    principal: UiReviewer,
    run_ids: Annotated[list[IdField] | None, Form()] = None,
    only: Annotated[IdField | None, Form()] = None,
    note: Annotated[str, Form(max_length=2000)] = "",
    return_to: Annotated[str, Form()] = "/run-checks",
) -> Response:
    if only is not None:
        run_ids = [only]  # a row's own Review button ignores the other ticked rows
    back = local_path(return_to, "/run-checks")
    if not run_ids:
        return redirect(request, back, "Select at least one run to review.", "error")
    reviewed = runs.review(session, run_ids, actor=principal.actor, note=note)
    session.commit()
    return redirect(
        request, back, f"Reviewed {len(reviewed)} run{'s' if len(reviewed) != 1 else ''}."
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
    page: Page = 1,
) -> Response:
    job = catalog.get_job(session, job_id)
    history = runs.job_runs(session, job_id, page=page, per_page=PER_PAGE)
    return render(
        request,
        "job.html",
        session=session,
        principal=principal,
        job=job,
        history=history,
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
