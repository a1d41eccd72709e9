"""Admin pages: mail sources, one form per kind (secrets write-only), and the matching rules.

A source's form is built from its connector's config model (services/mail_source_forms.py).
Saving checks every field at once and, when something is refused, shows the form again with
each problem next to its field and everything typed kept, except the secret. "Test connection"
posts the same form elsewhere: one connect and sign-in with what is typed, nothing saved.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from ticketbridge.services.accounts.users import Principal
from ticketbridge.services.mail import polling as mail_polling
from ticketbridge.services.mail import source_check as mail_source_check
from ticketbridge.services.mail import source_forms as mail_source_forms
from ticketbridge.services.mail import sources as mail_sources
from ticketbridge.services.mail import subscriptions as mail_subscriptions
from ticketbridge.services.mail.source_check import CheckResult
from ticketbridge.services.mail.sources import SourceError, SourceInvalid, SourceView
from ticketbridge.services.runtime import Runtime
from ticketbridge.storage.models import MailSource
from ticketbridge.storage.secrets import SecretUnreadable
from ticketbridge.web.api.schemas import Id
from ticketbridge.web.deps import CsrfChecked, Ctx, DbSession, UiAdmin
from ticketbridge.web.ui import mail_rule_pages
from ticketbridge.web.ui.templating import flash, redirect, render

router = APIRouter()
router.include_router(mail_rule_pages.router)
Checked = [CsrfChecked]
SOURCES = "/admin/mail-sources"
KindQuery = Annotated[str, Query(pattern="^(imap|graph|smtp|upload)$")]


async def _read_form(request: Request) -> FormData:
    # The inputs depend on the kind (config.<field>), so the form is read whole; Starlette
    # keeps it, and the CSRF check reads the same one.
    return await request.form()


SourceForm = Annotated[FormData, Depends(_read_form)]


@router.get(SOURCES, response_class=HTMLResponse)
def sources_page(request: Request, session: DbSession, principal: UiAdmin) -> Response:
    views = [SourceView.of(s) for s in mail_sources.list_sources(session)]
    return render(
        request,
        "mail_sources.html",
        session=session,
        principal=principal,
        sources=views,
        kinds=mail_source_forms.KIND_TITLES,
        notified=mail_subscriptions.views(session),
    )


def _form_page(
    request: Request,
    session: Session,
    principal: Principal,
    kind: str,
    *,
    source: MailSource | None = None,
    form: FormData | None = None,
    errors: dict[str, str] | None = None,
    result: CheckResult | None = None,
    tested: bool = False,
    status_code: int = 200,
) -> Response:
    """The form of one source (or a new one of `kind`): as stored, or as typed in `form`."""
    fields = mail_source_forms.fields_of(kind)
    if form is not None:
        values = mail_source_forms.typed_values(kind, form)
        source_name, enabled = str(form.get("name") or ""), bool(form.get("enabled"))
    elif source is not None:
        values = mail_source_forms.values_of(kind, source.config)
        source_name, enabled = source.name, source.enabled
    else:
        values = mail_source_forms.values_of(kind, None)
        source_name, enabled = "", True
    errors = errors or {}
    labels = {f.name: f.label for f in fields if f.input != "secret"}
    secret = mail_source_forms.secret_field(kind)
    labels |= {"name": "Name", "secret": secret.label if secret else "Secret"}
    return render(
        request,
        "mail_source.html",
        session=session,
        principal=principal,
        kind=kind,
        kind_title=mail_source_forms.KIND_TITLES[kind],
        kind_note=mail_source_forms.KIND_NOTES[kind],
        source=SourceView.of(source) if source is not None else None,
        fields=fields,
        labels=labels,
        values=values,
        source_name=source_name,
        enabled=enabled,
        errors=errors,
        open_advanced=any(f.advanced and f.name in errors for f in fields),
        result=result,
        tested=tested,
        status_code=status_code,
    )


def _errors(exc: SourceError) -> dict[str, str]:
    if isinstance(exc, SourceInvalid):
        return {p.field: p.message for p in exc.problems}
    return {exc.field: str(exc)}


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


@router.get(SOURCES + "/new", response_class=HTMLResponse)
def new_source_page(
    request: Request, session: DbSession, principal: UiAdmin, kind: KindQuery = "imap"
) -> Response:
    return _form_page(request, session, principal, kind)


@router.post(SOURCES, dependencies=Checked)
def create_source(
    request: Request,
    ctx: Ctx,
    session: DbSession,
    principal: UiAdmin,
    form: SourceForm,
) -> Response:
    kind = _text(form, "kind")
    if kind not in mail_source_forms.KIND_TITLES:
        return redirect(request, SOURCES, f"Not created: unknown kind {kind!r}", "error")
    try:
        source = mail_sources.create_source(
            session,
            ctx.secret_box,
            kind=kind,
            name=_text(form, "name"),
            config=mail_source_forms.config_from_form(kind, form),
            secret=_text(form, "secret") or None,
            enabled=bool(form.get("enabled")),
            actor=principal.actor,
        )
    except SourceError as exc:
        session.rollback()
        return _form_page(
            request, session, principal, kind, form=form, errors=_errors(exc), status_code=422
        )
    session.commit()
    return redirect(request, SOURCES, f"Mail source {source.name} created.")


@router.post(SOURCES + "/test", dependencies=Checked)
def test_new_source(
    request: Request, ctx: Ctx, session: DbSession, principal: UiAdmin, form: SourceForm
) -> Response:
    kind = _text(form, "kind")
    if kind not in mail_source_forms.KIND_TITLES:
        return redirect(request, SOURCES, f"Not tested: unknown kind {kind!r}", "error")
    return _tested(request, ctx, session, principal, kind, form, None)


@router.get(SOURCES + "/{source_id}", response_class=HTMLResponse)
def source_page(
    request: Request, source_id: Id, session: DbSession, principal: UiAdmin
) -> Response:
    source = mail_sources.get_source(session, source_id)
    return _form_page(request, session, principal, source.kind, source=source)


@router.post(SOURCES + "/{source_id}", dependencies=Checked)
def update_source(
    request: Request,
    source_id: Id,
    ctx: Ctx,
    session: DbSession,
    principal: UiAdmin,
    form: SourceForm,
) -> Response:
    source = mail_sources.get_source(session, source_id)
    kind = source.kind
    try:
        mail_sources.update_source(
            session,
            ctx.secret_box,
            source_id,
            name=_text(form, "name"),
            config=mail_source_forms.config_from_form(kind, form),
            secret=_text(form, "secret") or None,
            enabled=bool(form.get("enabled")),
            actor=principal.actor,
        )
    except SourceError as exc:
        session.rollback()
        source = mail_sources.get_source(session, source_id)
        return _form_page(
            request,
            session,
            principal,
            kind,
            source=source,
            form=form,
            errors=_errors(exc),
            status_code=422,
        )
    session.commit()
    if not source.secret and mail_sources.secret_required(kind):
        label = mail_sources.SECRET_FIELDS[kind].replace("_", " ")
        return redirect(
            request,
            f"{SOURCES}/{source_id}",
            f"Mail source saved. Its {label} is not set (a change of destination clears it): "
            "enter it again, or the source is not polled.",
            "error",
        )
    return redirect(request, SOURCES, "Mail source saved.")


@router.post(SOURCES + "/{source_id}/test", dependencies=Checked)
def test_source(
    request: Request,
    source_id: Id,
    ctx: Ctx,
    session: DbSession,
    principal: UiAdmin,
    form: SourceForm,
) -> Response:
    source = mail_sources.get_source(session, source_id)
    return _tested(request, ctx, session, principal, source.kind, form, source)


def _tested(
    request: Request,
    ctx: Runtime,
    session: Session,
    principal: Principal,
    kind: str,
    form: FormData,
    source: MailSource | None,
) -> Response:
    """The form again, as typed, with the outcome of one connection attempt; nothing saved."""
    config: dict[str, Any] = mail_source_forms.config_from_form(kind, form)
    page: dict[str, Any] = {"source": source, "form": form, "tested": True}
    try:
        secret = _text(form, "secret") or mail_sources.stored_secret_for(
            ctx.secret_box, source, config
        )
        result = mail_source_check.test_connection(kind, config, secret)
    except SourceError as exc:
        return _form_page(
            request, session, principal, kind, errors=_errors(exc), status_code=422, **page
        )
    except SecretUnreadable as exc:
        result = CheckResult(False, str(exc))
    return _form_page(request, session, principal, kind, result=result, **page)


@router.post(SOURCES + "/{source_id}/delete", dependencies=Checked)
def delete_source(
    request: Request, source_id: Id, session: DbSession, principal: UiAdmin
) -> Response:
    # Built before the source goes (it needs its credentials), called after the commit.
    unsubscribe = mail_subscriptions.ending(request.app.state.ctx, session, source_id)
    mail_sources.delete_source(session, source_id, actor=principal.actor)
    session.commit()
    unsubscribe()
    return redirect(request, SOURCES, "Mail source deleted; its stored mail stays.")


@router.post(SOURCES + "/{source_id}/poll", dependencies=Checked)
def poll_source(request: Request, source_id: Id, ctx: Ctx, _: UiAdmin) -> Response:
    result = mail_polling.poll(ctx, source_id)
    if not result.polled:
        flash(request, "Not polled: the source is disabled or being polled right now.", "error")
    elif result.error:
        flash(request, f"Poll failed: {result.error}", "error")
    else:
        flash(
            request,
            f"Polled: {result.fetched} fetched, {result.stored} new, "
            f"{result.duplicates} stored before.",
        )
    return redirect(request, SOURCES)
