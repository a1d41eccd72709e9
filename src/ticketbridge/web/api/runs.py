from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, cast

import orjson
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, Discriminator, Field, Tag, TypeAdapter, ValidationError

from ticketbridge.core.roles import ingest_creates_customers
from ticketbridge.core.statuses import RunSource, RunStatus
from ticketbridge.services.runs import ingest as run_ingest
from ticketbridge.services.runs import records as runs
from ticketbridge.services.runs.batch_decoder import decode_batch
from ticketbridge.services.runs.ingest import MAX_BATCH
from ticketbridge.services.runs.input import RunIn
from ticketbridge.web.api.schemas import (
    ERROR_RESPONSES,
    Id,
    IdFilter,
    IngestOut,
    RunOut,
    RunPage,
    TimeFilter,
)
from ticketbridge.web.deps import ApiIngester, ApiReader, ApiReviewer, Ctx, DbSession
from ticketbridge.web.errors import error_body

router = APIRouter(prefix="/runs", tags=["runs"], responses=ERROR_RESPONSES)


class RunBatchIn(BaseModel):
    runs: list[RunIn] = Field(min_length=1, max_length=MAX_BATCH)


class ReviewIn(BaseModel):
    note: str = Field(default="", max_length=2000)


def _shape(value: object) -> str:
    if isinstance(value, RunBatchIn):  # read by _RunsRequest already
        return "batch"
    return "batch" if isinstance(value, dict) and "runs" in value else "run"


# The tag names are dropped from error locations (web/errors.py), so a bad field reads
# "runs.3.status" or "status".
RunOrBatch = Annotated[
    Annotated[RunIn, Tag("run")] | Annotated[RunBatchIn, Tag("batch")], Discriminator(_shape)
]


_BATCH = TypeAdapter(RunBatchIn)


class _RunsRequest(Request):
    """A report's body read straight from its bytes when it is a valid batch.

    FastAPI would decode the JSON into Python objects (json.loads) and validate those. A batch
    every run of which passes the models' rules is read by msgspec into structs
    (services/runs/batch_decoder.py), ten times faster than pydantic; a batch it leaves to the
    models is read by pydantic from the bytes, which makes no dict per run and object. Anything
    else (a single run, a batch with an invalid item, text that is not JSON) is decoded as
    FastAPI always did and judged by the same models, so every answer and error stays as it was.
    """

    async def json(self) -> Any:
        if not hasattr(self, "_report"):
            body = await self.body()
            runs = decode_batch(body)
            if runs is not None:
                # Not validated again: the decoder holds its runs to RunIn's rules, and
                # storing reads no more of a run than both have (ReportedRun).
                self._report: Any = RunBatchIn.model_construct(runs=cast(list[RunIn], runs))
                return self._report
            try:
                self._report = _BATCH.validate_json(body)
            except ValidationError:
                self._report = json.loads(body)
        return self._report


class _RunsRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def read_runs_first(request: Request) -> Response:
            return await handler(_RunsRequest(request.scope, request.receive))

        return read_runs_first


def report_runs(
    body: RunOrBatch,
    ctx: Ctx,
    principal: ApiIngester,
    create_customers: Annotated[
        bool | None,
        Query(
            description="Create customers not known yet (true), or refuse their runs naming "
            "the close matches (false). Default: true for admin tokens, false for operator "
            "tokens."
        ),
    ] = None,
) -> Response:
    """Store one run, or a batch of up to 1,000 as `{"runs": [...]}`.

    A batch is **all-or-nothing**: if any item is invalid, nothing is stored and the 422 names
    every bad field with its index (`runs.3.status`). A valid batch is stored in one transaction.
    Repeating a run with the same `external_id` returns the stored run (`created: false`).
    Customers and jobs are matched by name; a new job is created, a new customer only with
    `create_customers` (else 422 naming the close matches, `runs.3.customer`). Runs starting
    or ending more than a day in the future are refused (422).
    """
    items = body.runs if isinstance(body, RunBatchIn) else [body]
    creates = (
        ingest_creates_customers(principal.role) if create_customers is None else create_customers
    )
    try:
        results = run_ingest.ingest(
            ctx.session_factory,
            items,
            source=RunSource.API,
            actor=principal.actor,
            now=ctx.clock(),
            create_customers=creates,
        )
    except run_ingest.IngestRefused as refused:
        return _refused(refused, batch=isinstance(body, RunBatchIn))
    created = sum(1 for r in results if r.created)
    # IngestOut's shape, written directly: checking and encoding a model per item cost more
    # than storing the run.
    answer = {
        "created": created,
        "existing": len(results) - created,
        "items": [
            {"index": i, "run_id": r.run_id, "created": r.created} for i, r in enumerate(results)
        ],
    }
    return Response(orjson.dumps(answer), media_type="application/json")


router.add_api_route(
    "",
    report_runs,
    methods=["POST"],
    response_model=IngestOut,
    summary="Report one run or a batch",
    route_class_override=_RunsRoute,
)


def _refused(refused: run_ingest.IngestRefused, *, batch: bool) -> JSONResponse:
    """The 422 of a refused report, shaped like a validation error: every field by its place."""
    fields = [
        {"field": f"runs.{p.index}.{p.field}" if batch else p.field, "message": p.message}
        for p in refused.problems
    ]
    summary = "; ".join(f"{f['field']}: {f['message']}" for f in fields[:5])
    return JSONResponse(
        error_body(422, f"invalid input: {summary}", {"fields": fields}), status_code=422
    )


@router.get("", response_model=RunPage, summary="List runs, newest first")
def list_runs(
    session: DbSession,
    _: ApiReader,
    customer_id: IdFilter = None,
    job_id: IdFilter = None,
    status: Annotated[list[RunStatus] | None, Query()] = None,
    product: str | None = None,
    since: TimeFilter | None = None,
    until: TimeFilter | None = None,
    reviewed: bool | None = None,
    source: RunSource | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> RunPage:
    filters = runs.RunFilter(
        customer_id=customer_id,
        job_id=job_id,
        statuses=tuple(status or ()),
        product=product,
        since=since,
        until=until,
        reviewed=reviewed,
        source=source.value if source else None,
    )
    rows, next_cursor = runs.page_of_runs(session, filters, cursor=cursor, limit=limit)
    return RunPage(items=[RunOut.of(run) for run in rows], next_cursor=next_cursor)


@router.get("/{run_id}", response_model=RunOut)
def get_run(run_id: Id, session: DbSession, _: ApiReader) -> RunOut:
    return RunOut.of(runs.get_run(session, run_id))


@router.post("/{run_id}/review", response_model=RunOut, summary="Mark a run reviewed")
def review_run(
    run_id: Id, session: DbSession, principal: ApiReviewer, body: ReviewIn | None = None
) -> RunOut:
    runs.review(session, [run_id], actor=principal.actor, note=body.note if body else "")
    session.commit()
    return RunOut.of(runs.get_run(session, run_id))
