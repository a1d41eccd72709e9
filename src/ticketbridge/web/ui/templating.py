from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from ticketbridge.core.roles import Permission, can
from ticketbridge.core.timezones import to_zone
from ticketbridge.services.accounts.users import Principal
from ticketbridge.services.system import settings as system_settings
from ticketbridge.web.deps import csrf_token

TEMPLATES_DIR = Path(__file__).parent / "templates"


def _localtime(moment: datetime | None, zone: str, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if moment is None:
        return ""
    return to_zone(moment, zone).strftime(fmt)


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    templates.env.filters["localtime"] = _localtime
    templates.env.globals["Permission"] = Permission
    templates.env.globals["can"] = can
    return templates


def ui_zone(request: Request, session: Session) -> str:
    """The installation's display timezone, read once per request: routes need it for date
    filters and `render` for every page's times."""
    zone: str | None = getattr(request.state, "ui_zone", None)
    if zone is None:
        zone = system_settings.ui_timezone(session)
        request.state.ui_zone = zone
    return zone


def render(
    request: Request,
    name: str,
    *,
    session: Session,
    principal: Principal | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    templates: Jinja2Templates = request.app.state.templates
    base = {
        "principal": principal,
        "csrf_token": csrf_token(request),
        "tz": ui_zone(request, session),
        "flash": request.session.pop("flash", None),
    }
    return templates.TemplateResponse(request, name, {**base, **context}, status_code=status_code)


def pager_base(request: Request) -> str:
    """The current URL without its page number, ready for `page=N` to be appended."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != "page"]
    return f"{request.url.path}?{urlencode(kept)}&" if kept else f"{request.url.path}?"


def flash(
    request: Request,
    message: str,
    kind: str = "ok",
    *,
    run_id: int | None = None,
    row: str | None = None,
) -> None:
    """A one-time message for the next page (post/redirect/get). With ``run_id`` it is shown
    next to that run's ticket, with ``row`` next to the table row of that id, instead of at
    the top of the page."""
    request.session["flash"] = {"message": message, "kind": kind, "run_id": run_id, "row": row}


def redirect(
    request: Request, url: str, message: str | None = None, kind: str = "ok"
) -> RedirectResponse:
    """Post/redirect/get, with an optional one-time message for the page it lands on."""
    if message is not None:
        flash(request, message, kind)
    return RedirectResponse(url, status_code=303)


def local_path(target: str | None, default: str) -> str:
    r"""`target` when it is a path on this site, else `default`: a form or login field must
    never send people elsewhere. Browsers read `\` as `/` and drop tabs and newlines, so
    `/\evil.example` and `/<tab>/evil.example` both lead to `//evil.example`."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target or not target.isprintable():
        return default
    return target
