"""Mail upload and mail sources (admin) over the API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import anyio
import anyio.to_thread
from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, Field
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from ticketbridge.services import inbox, mail_intake, mail_sources, mail_view
from ticketbridge.services.mail_sources import SourceView
from ticketbridge.services.runtime import Runtime
from ticketbridge.web import limits
from ticketbridge.web.api.schemas import ERROR_RESPONSES, ErrorOut, Id
from ticketbridge.web.deps import ApiAdmin, ApiIngester, ApiReader, Ctx, DbSession

router = APIRouter(prefix="/mail", tags=["mail"], responses=ERROR_RESPONSES)
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
            out.append(
                UploadItemOut(
                    filename=upload.filename or "upload.eml",
                    mail_id=accepted.mail_id,
                    created=accepted.created,
                    state=accepted.state,
                    awaiting_approval=accepted.awaiting_approval,
                    run_ids=list(accepted.run_ids),
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
    (same Message-ID) comes back with `created: false` and makes no second run. At most 100
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


@router.post("/sources", response_model=SourceOut, status_code=201)
def create_source(body: SourceIn, ctx: Ctx, session: DbSession, principal: ApiAdmin) -> SourceOut:
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
    session.commit()
    return SourceOut.of(SourceView.of(source))


@router.get("/sources/{source_id}", response_model=SourceOut)
def get_source(source_id: Id, session: DbSession, _: ApiAdmin) -> SourceOut:
    return SourceOut.of(SourceView.of(mail_sources.get_source(session, source_id)))


@router.patch("/sources/{source_id}", response_model=SourceOut)
def update_source(
    source_id: Id, body: SourcePatch, ctx: Ctx, session: DbSession, principal: ApiAdmin
) -> SourceOut:
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
    session.commit()
    return SourceOut.of(SourceView.of(source))


@router.delete("/sources/{source_id}", status_code=204)
def delete_source(source_id: Id, session: DbSession, principal: ApiAdmin) -> Response:
    """Stored mail and runs stay."""
    mail_sources.delete_source(session, source_id, actor=principal.actor)
    session.commit()
    return Response(status_code=204)
