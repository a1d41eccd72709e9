"""Daily Jobs (every job expected on a day, with its result or Missed) and job schedules."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from ticketbridge.core.statuses import RunStatus
from ticketbridge.core.timezones import to_zone, zone_names
from ticketbridge.services.runs import schedules
from ticketbridge.services.runs.schedules import ScheduleError
from ticketbridge.web.api.schemas import EARLIEST_DAY, LATEST_DAY, DayFilter, Id
from ticketbridge.web.deps import CsrfChecked, Ctx, DbSession, UiReader, UiReviewer
from ticketbridge.web.ui.templating import redirect, render, ui_zone

router = APIRouter()


@router.get("/daily-jobs", response_class=HTMLResponse)
def daily_jobs_page(
    request: Request,
    ctx: Ctx,
    session: DbSession,
    principal: UiReader,
    day: DayFilter = None,
    problems: bool = False,
) -> Response:
    zone = ui_zone(request, session)
    now = ctx.clock()
    chosen = day or to_zone(now, zone).date()
    rows = schedules.expected_for_day(session, chosen, now=now, zone=zone)
    shown = [row for row in rows if _is_problem(row, now)] if problems else rows
    return render(
        request,
        "daily_jobs.html",
        session=session,
        principal=principal,
        day=chosen,
        rows=shown,
        expected=len(rows),
        now=now,
        problems_only=problems,
        days=_neighbours(chosen),
    )


def _is_problem(row: schedules.Expected, now: datetime) -> bool:
    """A run that was anything but a success, or one that is Missed by now (not pending)."""
    if row.run is not None:
        return row.run.status != RunStatus.SUCCESS
    return row.expected_at + row.grace < now


def _neighbours(day: date) -> dict[str, date | None]:
    """The days before and after, within the dates the filter accepts."""
    before, after = day - timedelta(days=1), day + timedelta(days=1)
    return {
        "previous": before if before >= EARLIEST_DAY else None,
        "next": after if after <= LATEST_DAY else None,
    }


@router.post("/jobs/{job_id}/schedule", dependencies=[CsrfChecked])
def declare_schedule(
    request: Request,
    job_id: Id,
    session: DbSession,
    principal: UiReviewer,
    cron: Annotated[str, Form(max_length=200)] = "",
    timezone: Annotated[str, Form(max_length=100)] = "UTC",
    grace_minutes: Annotated[int, Form(ge=0, le=7 * 24 * 60)] = 180,
    opt_out: Annotated[bool, Form()] = False,
) -> Response:
    try:
        schedules.declare(
            session,
            job_id,
            cron=cron,
            timezone=timezone,
            grace_minutes=grace_minutes,
            actor=principal.actor,
        )
        schedules.set_opt_out(session, job_id, opt_out, actor=principal.actor)
    except ScheduleError as exc:
        return redirect(request, f"/jobs/{job_id}", f"Not saved: {exc}", "error")
    session.commit()
    return redirect(request, f"/jobs/{job_id}", "Schedule saved.")


def job_schedule_context(session: Session, job_id: int, now: datetime, zone: str) -> dict[str, Any]:
    """What Job Details shows about the job's schedule, and the choices of its form."""
    [item] = schedules.schedules(session, now=now, zone=zone, job_id=job_id)
    return {"schedule": item, "zones": zone_names(), "default_zone": zone}
