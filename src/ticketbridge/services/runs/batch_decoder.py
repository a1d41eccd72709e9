"""A batch of runs read straight from its JSON bytes, for the API's hot path (issue 15).

pydantic reading a batch of 500 runs into :class:`~ticketbridge.services.runs.input.RunIn`
models was the largest part of the server's work per run. msgspec reads the same bytes into
plain structs in a tenth of the time. The structs hold the fields the way ``RunIn`` does, and
``ingest`` reads either (:class:`~ticketbridge.services.runs.input.ReportedRun`).

The models stay the judges: :func:`decode_batch` answers a batch only when every run in it
passes every rule of ``RunIn`` here too, and otherwise None, so that the caller reads the body
with pydantic, which accepts or refuses it with its usual errors. Wherever the two could read the
same text differently, the text goes to pydantic: a name or text with whitespace at either end
(the models strip it), a time with more than six decimals of a second (msgspec rounds them,
pydantic cuts them off), a time in a form msgspec does not read. A batch this decoder accepts is
therefore always one the models accept, read into the same values;
tests/services/test_batch_decoder.py holds both to that.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

import msgspec

from ticketbridge.core.statuses import RunStatus
from ticketbridge.services.runs.ingest import MAX_BATCH
from ticketbridge.services.runs.input import MAX_OBJECTS, in_run_range, name_problem
from ticketbridge.storage.models.catalog import (
    CUSTOMER_KEY_LENGTH,
    JOB_NAME_KEY_LENGTH,
    PRODUCT_KEY_LENGTH,
)

_Meta = msgspec.Meta
_Time = Annotated[datetime, _Meta(tz=True)]
# A second with more than six decimals: seven digits after a dot anywhere in the body (in a
# remark too, which merely sends the batch the slow way). Searched for the dot first, a regex
# starting with a digit class ran 20 times slower over a batch.
_MORE_THAN_MICROSECONDS = re.compile(rb"\.\d{7}")


class _Object(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    name: Annotated[str, _Meta(min_length=1, max_length=500)]
    status: RunStatus
    type: Annotated[str, _Meta(max_length=100)] = ""
    message: Annotated[str, _Meta(max_length=20_000)] = ""


class _Run(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    customer: Annotated[str, _Meta(min_length=1, max_length=200)]
    job_name: Annotated[str, _Meta(min_length=1, max_length=300)]
    backup_product: Annotated[str, _Meta(min_length=1, max_length=100)]
    status: RunStatus
    started_at: _Time
    ended_at: _Time | None = None
    job_type: Annotated[str, _Meta(max_length=100)] = ""
    host: Annotated[str, _Meta(max_length=300)] = ""
    overall_remark: Annotated[str, _Meta(max_length=20_000)] = ""
    external_id: Annotated[str, _Meta(min_length=1, max_length=200)] | None = None
    objects: Annotated[list[_Object], _Meta(max_length=MAX_OBJECTS)] = []


class _Batch(msgspec.Struct):  # other keys beside "runs" are ignored, as by the API's model
    runs: Annotated[list[_Run], _Meta(min_length=1, max_length=MAX_BATCH)]


_DECODER = msgspec.json.Decoder(_Batch)


def decode_batch(body: bytes) -> list[_Run] | None:
    """The runs of a ``{"runs": [...]}`` body when every one is valid, else None."""
    if _MORE_THAN_MICROSECONDS.search(body):
        return None
    try:
        runs = _DECODER.decode(body).runs
    except msgspec.DecodeError:
        return None
    return runs if all(map(_valid, runs)) else None


def _valid(run: _Run) -> bool:
    # Plain loops: at hundreds of runs a batch, generators cost as much as the decoding.
    texts = [run.customer, run.job_name, run.backup_product, run.job_type, run.host]
    texts.append(run.overall_remark)
    if run.external_id is not None:
        texts.append(run.external_id)
    for item in run.objects:
        texts += (item.name, item.type, item.message)
    for text in texts:
        # Python strips a few more characters than pydantic (U+001C to U+001F): a text Python
        # would not change, pydantic does not change either.
        if text != text.strip():
            return False
    return (
        name_problem(run.customer, CUSTOMER_KEY_LENGTH) is None
        and name_problem(run.job_name, JOB_NAME_KEY_LENGTH) is None
        and name_problem(run.backup_product, PRODUCT_KEY_LENGTH) is None
        and in_run_range(run.started_at)
        and (run.ended_at is None or in_run_range(run.ended_at))
    )
