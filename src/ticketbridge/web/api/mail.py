"""Mail upload, mail sources and matching rules (admin) over the API.

A source is refused with every problem at once (422, `details.fields`, one entry a field), as the
admin page shows them; "test" connects once with a source's settings without saving them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import anyio
import anyio.to_thread
from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from ticketbridge.services.mail import inbox
from ticketbridge.services.mail import intake as mail_intake
from ticketbridge.services.mail import source_check as mail_source_check
from ticketbridge.services.mail import sources as mail_sources
from ticketbridge.services.mail import subscriptions as mail_subscriptions
from ticketbridge.services.mail import view as mail_view
from ticketbridge.services.mail.sources import SourceInvalid, SourceView
from ticketbridge.services.runtime import Runtime
from ticketbridge.storage.secrets import SecretUnreadable
from ticketbridge.web import limits
from ticketbridge.web.api import mail_rules
from ticketbridge.web.api.schemas import ERROR_RESPONSES, ErrorOut, Id
from ticketbridge.web.deps import ApiAdmin, ApiIngester, ApiReader, Ctx, DbSession
from ticketbridge.web.errors import error_body

router = APIRouter(prefix="/mail", tags=["mail"], responses=ERROR_RESPONSES)
router.include_router(mail_rules.router)
MAX_FILES = limits.MAIL_UPLOAD_MAX_FILES
# Besides the files: the UI's CSRF token. Text fields are small.
MAX_FIELDS = 10
MAX_FIELD_BYTES = 16 * 1024
UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["files"],
                    "properties": {
                        "files": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "description": f"One or more .eml files (at most {MAX_FILES})",
                        }
                    },
                }
            }
        },
    }
}


# Five 17 MB mails uploaded at once took the server past 1.7 GB, and parsing is CPU-bound
# Python holding the GIL: with one upload parsed at a time they peaked at +250 MB instead of
# +550 MB (two at a time) and /healthz stayed under a second (bench/abuse.py).
PARSING_UPLOADS = 1
_PARSING = anyio.Semaphore(PARSING_UPLOADS)


class UploadItemOut(BaseModel):
    filename: str
    mail_id: int
    created: bool
    state: str
    awaiting_approval: bool
    run_ids: list[int]
    failure: str = Field(default="", description="Why the mail could not be read (state failed)")


async def upload_form(request: Request) -> FormData:
    """The upload's form, parsed with limits: at most MAX_FILES files (413 beyond; the parser
    stops there) and a few small fields. Each file is spooled (in memory up to 1 MiB, then a
    temporary file); web/limits.py keeps the whole body under its cap. Close it when done."""
    try:
        return await request.form(
            max_files=MAX_FILES, max_fields=MAX_FIELDS, max_part_size=MAX_FIELD_BYTES
        )
    except StarletteHTTPException as exc:
        # Starlette says 400 for every multipart limit; too many files is a size refusal.
        if exc.status_code == 400 and "too many files" in str(exc.detail).lower():
            raise HTTPException(413, f"at most {MAX_FILES} files per upload") from exc
        raise


def uploaded_files(form: FormData) -> list[UploadFile]:
    files = [item for item in form.getlist("files") if isinstance(item, UploadFile)]
    if not files:
        raise HTTPException(422, "no files: send one or more .eml files as the field 'files'")
    return files


async def store(ctx: Runtime, files: list[UploadFile]) -> list[UploadItemOut]:
    """``store_files`` on a worker thread, PARSING_UPLOADS uploads at a time: the others wait
    here, holding neither a request thread nor a transaction."""
    async with _PARSING:
        return await anyio.to_thread.run_sync(store_files, ctx, files)


def store_files(ctx: Runtime, files: list[UploadFile]) -> list[UploadItemOut]:
    """Store each uploaded mail, then parse and route it; all or nothing. Blocking and heavy
    (a 17 MB HTML mail takes seconds and some 300 MB to parse): never on the event loop (use
    ``store``). One mail of an upload is held in memory at a time."""
    limit = ctx.settings.mail_max_bytes
    for upload in files:
        if upload.size is None or upload.size > limit:
            raise HTTPException(413, f"{upload.filename or 'file'} is over the {limit}-byte limit")
    out = []
    with ctx.session_factory() as session:
        for upload in files:
            upload.file.seek(0)
            accepted = mail_intake.accept(
                session, upload.file.read(limit + 1), now=ctx.clock(), max_bytes=limit
            )
            filename = upload.filename or "upload.eml"
            # A malformed mail has no subject to be told by: its file name is kept for it.
            inbox.note_upload(session, accepted.mail_id, filename)
            failure = inbox.get_mail(session, accepted.mail_id).failure
            out.append(
                UploadItemOut(
                    filename=filename,
                    mail_id=accepted.mail_id,
                    created=accepted.created,
                    state=accepted.state,
                    awaiting_approval=accepted.awaiting_approval,
                    run_ids=list(accepted.run_ids),
                    failure=failure if accepted.state == "failed" else "",
                )
            )
        session.commit()
    return out


@router.post(
    "/upload",
    response_model=list[UploadItemOut],
    summary="Upload .eml files",
    openapi_extra=UPLOAD_BODY,
    responses={413: {"model": ErrorOut, "description": "Too many files, or one too large"}},
)
async def upload(request: Request, ctx: Ctx, _: ApiIngester) -> list[UploadItemOut]:
    """Each file is stored raw, then parsed and routed like polled mail. A mail stored before
    (same Message-ID) comes back with `created: false` and makes no second run. A file that
    cannot be read is stored all the same, with `state: failed` and the reason in `failure`;
    the Inbox shows it by its `filename`. At most 100
    files, each up to the mail size limit (`TICKETBRIDGE_MAIL_MAX_BYTES`); more is refused
    with 413 and nothing is stored."""
    # The caller was identified before the body is read (here, and by web/limits.py).
    form = await upload_form(request)
    try:
        return await store(ctx, uploaded_files(form))
    finally:
        await form.close()


@router.get(
    "/{mail_id}/raw",
    response_class=Response,
    summary="Download a stored mail as .eml",
    responses={
        200: {"content": {"message/rfc822": {}}, "description": "The mail as received"},
        410: {"description": "The raw mail was purged by the retention setting"},
    },
)
def raw_mail(mail_id: Id, session: DbSession, _: ApiReader) -> Response:
    """The raw mail exactly as it was received. Once retention purged the raw bytes, the mail's
    row (sender, subject, detected fields, runs) stays and this answers 410."""
    mail = inbox.get_mail(session, mail_id)
    raw = mail_intake.raw_bytes(mail)
    if raw is None:
        raise HTTPException(
            410, f"the raw bytes of mail {mail_id} were purged by the retention setting"
        )
    # An attachment, never sniffed: a client must not render the mail's HTML from our origin.
    return Response(
        raw,
        media_type="message/rfc822",
        headers={
            "Content-Disposition": f'attachment; filename="{mail_view.eml_filename(mail)}"',
            "X-Content-Type-Options": "nosniff",
        },
    )


class SourceOut(BaseModel):
    id: int
    kind: str
    name: str
    enabled: bool
    config: dict[str, Any]
    has_secret: bool
    last_poll_at: datetime | None
    last_success_at: datetime | None
    last_error: str
    fetched_count: int
    stored_count: int
    duplicate_count: int

    @classmethod
    def of(cls, view: SourceView) -> SourceOut:
        return cls.model_validate(view, from_attributes=True)


class SourceIn(BaseModel):
    kind: str = Field(pattern="^(imap|graph|smtp|upload)$")
    name: str = Field(min_length=1, max_length=200)
    enabled: bool = True
    config: dict[str, Any] = Field(default_factory=dict)
    secret: str | None = Field(default=None, max_length=4000, description="Write-only")


class SourcePatch(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    enabled: bool | None = None
    config: dict[str, Any] | None = None
    secret: str | None = Field(
        default=None, max_length=4000, description="Write-only; empty or absent keeps it"
    )


@router.get("/sources", response_model=list[SourceOut], summary="List mail sources")
def list_sources(session: DbSession, _: ApiAdmin) -> list[SourceOut]:
    return [SourceOut.of(SourceView.of(s)) for s in mail_sources.list_sources(session)]


def _refused(exc: SourceInvalid) -> JSONResponse:
    """422 naming every refused field, not only the first."""
    fields = [{"field": p.field, "message": p.message} for p in exc.problems]
    return JSONResponse(error_body(422, str(exc), {"fields": fields}), status_code=422)


@router.post("/sources", response_model=SourceOut, status_code=201)
def create_source(
    body: SourceIn, ctx: Ctx, session: DbSession, principal: ApiAdmin
) -> SourceOut | JSONResponse:
    """`config` is validated by the kind's connector model (docs/mail-sources.md); every
    problem comes back at once in `details.fields`. `secret` is required for imap, and for a
    graph source read app-only (a delegated one, signed in with a device code, needs none)."""
    try:
        source = mail_sources.create_source(
            session,
            ctx.secret_box,
            kind=body.kind,
            name=body.name,
            config=body.config,
            secret=body.secret,
            enabled=body.enabled,
            actor=principal.actor,
        )
    except SourceInvalid as exc:
        return _refused(exc)
    session.commit()
    return SourceOut.of(SourceView.of(source))


class SourceTestIn(BaseModel):
    kind: str = Field(pattern="^(imap|graph|smtp)$")
    config: dict[str, Any] = Field(default_factory=dict)
    secret: str | None = Field(default=None, max_length=4000, description="Write-only")


class StoredSourceTestIn(BaseModel):
    config: dict[str, Any] | None = Field(
        default=None, description="Settings to try instead of the stored ones; nothing is saved"
    )
    secret: str | None = Field(
        default=None,
        max_length=4000,
        description="Write-only; absent: the stored one, while the settings still point where "
        "it was entered for",
    )


class CheckOut(BaseModel):
    ok: bool
    message: str


@router.post("/source-tests", response_model=CheckOut, summary="Test settings before saving")
def test_new_source(body: SourceTestIn, _: ApiAdmin) -> CheckOut | JSONResponse:
    """One connect and sign-in (imap, graph), or for smtp whether something answers at the
    address or ticketbridge could listen there. `ok: false` with the reason when it fails;
    422 when the settings themselves are refused."""
    try:
        result = mail_source_check.test_connection(body.kind, body.config, body.secret)
    except SourceInvalid as exc:
        return _refused(exc)
    return CheckOut(ok=result.ok, message=result.message)


@router.post(
    "/sources/{source_id}/test", response_model=CheckOut, summary="Test a source's connection"
)
def test_source(
    source_id: Id, body: StoredSourceTestIn, ctx: Ctx, session: DbSession, _: ApiAdmin
) -> CheckOut | JSONResponse:
    """As `POST /mail/source-tests`, with the stored settings, or with `config` in their place
    (not saved). The stored secret is used only while the settings still point where it was
    entered for: a changed host or user needs `secret` too."""
    source = mail_sources.get_source(session, source_id)
    config = dict(source.config or {}) if body.config is None else body.config
    try:
        secret = body.secret or mail_sources.stored_secret_for(ctx.secret_box, source, config)
        result = mail_source_check.test_connection(source.kind, config, secret)
    except SourceInvalid as exc:
        return _refused(exc)
    except SecretUnreadable as exc:
        return CheckOut(ok=False, message=str(exc))
    return CheckOut(ok=result.ok, message=result.message)


@router.get("/sources/{source_id}", response_model=SourceOut)
def get_source(source_id: Id, session: DbSession, _: ApiAdmin) -> SourceOut:
    return SourceOut.of(SourceView.of(mail_sources.get_source(session, source_id)))


@router.patch("/sources/{source_id}", response_model=SourceOut)
def update_source(
    source_id: Id, body: SourcePatch, ctx: Ctx, session: DbSession, principal: ApiAdmin
) -> SourceOut | JSONResponse:
    try:
        source = mail_sources.update_source(
            session,
            ctx.secret_box,
            source_id,
            name=body.name,
            config=body.config,
            secret=body.secret,
            enabled=body.enabled,
            actor=principal.actor,
        )
    except SourceInvalid as exc:
        return _refused(exc)
    session.commit()
    return SourceOut.of(SourceView.of(source))


@router.delete("/sources/{source_id}", status_code=204)
def delete_source(source_id: Id, ctx: Ctx, session: DbSession, principal: ApiAdmin) -> Response:
    """Stored mail and runs stay; a change-notification subscription is ended at the server."""
    unsubscribe = mail_subscriptions.ending(ctx, session, source_id)
    mail_sources.delete_source(session, source_id, actor=principal.actor)
    session.commit()
    unsubscribe()
    return Response(status_code=204)
