"""Mail upload and mail sources (admin) over the API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, File, HTTPException, Response, UploadFile
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from ticketbridge.services import inbox, mail_intake, mail_sources, mail_view
from ticketbridge.services.mail_sources import SourceView
from ticketbridge.services.runtime import Runtime
from ticketbridge.web.api.schemas import ERROR_RESPONSES, Id
from ticketbridge.web.deps import ApiAdmin, ApiIngester, ApiReader, Ctx, DbSession

router = APIRouter(prefix="/mail", tags=["mail"], responses=ERROR_RESPONSES)
MAX_FILES = 100


class UploadItemOut(BaseModel):
    filename: str
    mail_id: int
    created: bool
    state: str
    awaiting_approval: bool
    run_ids: list[int]


async def read_limited(upload: UploadFile, limit: int) -> bytes:
    """The whole upload, or a 413 as soon as it passes `limit` bytes."""
    chunks: list[bytes] = []
    size = 0
    while chunk := await upload.read(1024 * 1024):
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"{upload.filename or 'file'} is over the {limit}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


def store_uploads(
    ctx: Runtime, session: Session, files: list[tuple[str, bytes]]
) -> list[UploadItemOut]:
    out = []
    for filename, raw in files:
        accepted = mail_intake.accept(
            session, raw, now=ctx.clock(), max_bytes=ctx.settings.mail_max_bytes
        )
        out.append(
            UploadItemOut(
                filename=filename,
                mail_id=accepted.mail_id,
                created=accepted.created,
                state=accepted.state,
                awaiting_approval=accepted.awaiting_approval,
                run_ids=list(accepted.run_ids),
            )
        )
    return out


@router.post("/upload", response_model=list[UploadItemOut], summary="Upload .eml files")
async def upload(
    files: Annotated[list[UploadFile], File(description="One or more .eml files")],
    ctx: Ctx,
    session: DbSession,
    _: ApiIngester,
) -> list[UploadItemOut]:
    """Each file is stored raw, then parsed and routed like polled mail. A mail stored before
    (same Message-ID) comes back with `created: false` and makes no second run."""
    if len(files) > MAX_FILES:
        raise HTTPException(413, f"at most {MAX_FILES} files per upload")
    read = [
        (f.filename or "upload.eml", await read_limited(f, ctx.settings.mail_max_bytes))
        for f in files
    ]
    out = store_uploads(ctx, session, read)
    session.commit()
    return out


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
