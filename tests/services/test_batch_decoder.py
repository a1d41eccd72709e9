"""The API's fast batch reader never accepts what the models refuse, nor reads a value otherwise.

Each case is a valid batch with one thing changed: a field set to an awkward value, a key
dropped or added, the JSON text itself altered. Whatever pydantic (the judge) makes of it, the
decoder must either step aside (None) or hold exactly the runs pydantic reads.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
from pydantic import ValidationError

from ticketbridge.services.runs import batch_decoder
from ticketbridge.services.runs.batch_decoder import decode_batch
from ticketbridge.services.runs.ingest import MAX_BATCH
from ticketbridge.services.runs.input import RunIn, RunObjectIn
from ticketbridge.web.api.runs import _BATCH, RunBatchIn

RUN_FIELDS = (
    "customer",
    "job_name",
    "backup_product",
    "job_type",
    "host",
    "status",
    "started_at",
    "ended_at",
    "overall_remark",
    "external_id",
)
OBJECT_FIELDS = ("name", "type", "status", "message")


def _valid_batch() -> dict[str, Any]:
    return {
        "runs": [
            {
                "customer": "Acme Logistics",
                "job_name": "Nightly VMs",
                "backup_product": "Veeam Backup & Replication",
                "job_type": "Backup",
                "host": "VBR01",
                "status": "failed",
                "started_at": "2026-11-20T01:00:00+01:00",
                "ended_at": "2026-11-20T02:30:15.25Z",
                "overall_remark": "Target disk is full",
                "external_id": "veeam-1",
                "objects": [
                    {"name": "DC01", "type": "VM", "status": "success", "message": ""},
                    {"name": "FS01", "type": "VM", "status": "failed", "message": "No space"},
                ],
            },
            {
                "customer": "Brightwater Dental",
                "job_name": "NAS to USB",
                "backup_product": "Synology Hyper Backup",
                "status": "success",
                "started_at": "2026-11-20T03:00:00Z",
            },
        ]
    }


TEXTS = (
    "",
    " ",
    " leading",
    "trailing ",
    "\u00a0no-break",
    "em space\u2003",
    "\x1cfile separator",
    "tab\tinside",
    "nul\x00inside",
    "zero\u200bwidth",
    "\u202eright-to-left",
    "é accent",
    "ﬁ ligature",
    "😀",
    None,
    1,
    True,
    [],
    {},
)
TIMES = (
    "2026-11-20T01:00:00Z",
    "2026-11-20t01:00:00z",
    "2026-11-20 01:00:00Z",
    "2026-11-20T01:00Z",
    "2026-11-20T01:00:00+0100",
    "2026-11-20T01:00:00-00:00",
    "2026-11-20T01:00:00.123+01:00",
    "2026-11-20T01:00:00.1234567Z",
    "2026-11-20T01:00:00.9999999Z",
    "2026-11-20T01:00:00,5Z",
    "2026-11-20T23:59:60Z",
    "2026-11-20T01:00:00+14:00",
    "2026-11-20T01:00:00",
    "1999-12-31T23:59:59Z",
    "2000-01-01T00:00:00+01:00",
    "2000-01-01T00:00:00Z",
    "2099-12-31T23:59:59Z",
    "2099-12-31T23:59:59-14:00",
    "2100-01-01T00:00:00Z",
    "1700000000",
    1_700_000_000,
    None,
)
STATUSES = ("success", "warning", "failed", "Success", "FAILED", "ok", "", 1, None)


def _lengths(limit: int) -> Iterator[str]:
    # Characters outside the BMP count as one each for both readers, or the limit moves.
    for char in ("x", "😀"):
        yield char * limit
        yield char * (limit + 1)


LIMITS = {
    "customer": 200,
    "job_name": 300,
    "backup_product": 100,
    "job_type": 100,
    "host": 300,
    "overall_remark": 20_000,
    "external_id": 200,
}


def _cases() -> Iterator[tuple[str, bytes]]:
    base = _valid_batch()
    yield "valid", json.dumps(base).encode()
    for field in RUN_FIELDS:
        values: tuple[Any, ...] = TIMES if field.endswith("_at") else TEXTS
        if field == "status":
            values = STATUSES
        lengths = tuple(_lengths(LIMITS[field])) if field in LIMITS else ()
        for value in (*values, *lengths):
            batch = copy.deepcopy(base)
            batch["runs"][0][field] = value
            yield f"{field}={value!r:.40}", json.dumps(batch).encode()
        batch = copy.deepcopy(base)
        del batch["runs"][0][field]
        yield f"no {field}", json.dumps(batch).encode()
    for field in OBJECT_FIELDS:
        values = STATUSES if field == "status" else TEXTS
        for value in values:
            batch = copy.deepcopy(base)
            batch["runs"][0]["objects"][1][field] = value
            yield f"object {field}={value!r:.40}", json.dumps(batch).encode()
    for name, change in _shape_changes():
        batch = copy.deepcopy(base)
        change(batch)
        yield name, json.dumps(batch).encode()
    raw = json.dumps(base)
    repeated = raw.replace('"host": "VBR01"', '"host": "VBR01", "host": "VBR02"')
    yield "repeated key", repeated.encode()
    yield "lone surrogate", raw.replace("Nightly VMs", "Nightly \\ud800VMs").encode()
    yield "not json", raw[:-1].encode()
    yield "a single run", json.dumps(base["runs"][0]).encode()


def _shape_changes() -> Iterator[tuple[str, Any]]:
    yield "extra run key", lambda b: b["runs"][0].update(colour="blue")
    yield "extra object key", lambda b: b["runs"][0]["objects"][0].update(size=3)
    yield "extra top key", lambda b: b.update(sender="script")
    yield "objects not a list", lambda b: b["runs"][0].update(objects={"name": "x"})
    yield "object not an object", lambda b: b["runs"][0].update(objects=["DC01"])
    yield "no runs", lambda b: b.pop("runs")
    yield "empty runs", lambda b: b.update(runs=[])
    yield "too many runs", lambda b: b.update(runs=b["runs"][:1] * (MAX_BATCH + 1))
    yield "most runs", lambda b: b.update(runs=b["runs"][:1] * MAX_BATCH)
    yield "runs not a list", lambda b: b.update(runs=b["runs"][0])


CASES = list(_cases())


@pytest.mark.parametrize("body", [body for _, body in CASES], ids=[name for name, _ in CASES])
def test_the_fast_reader_accepts_only_what_the_models_accept_with_the_same_values(
    body: bytes,
) -> None:
    fast = decode_batch(body)
    try:
        judged = _BATCH.validate_json(body)
    except ValidationError:
        assert fast is None, "the models refuse this batch"
        return
    if fast is None:
        return  # left to the models: slower, never wrong
    assert len(fast) == len(judged.runs)
    for ours, theirs in zip(fast, judged.runs, strict=True):
        for field in RUN_FIELDS:
            _same(getattr(ours, field), getattr(theirs, field))
        assert len(ours.objects) == len(theirs.objects)
        for mine, model in zip(ours.objects, theirs.objects, strict=True):
            for field in OBJECT_FIELDS:
                _same(getattr(mine, field), getattr(model, field))


def _same(ours: Any, theirs: Any) -> None:
    assert ours == theirs
    assert type(ours) is type(theirs) or hasattr(ours, "utcoffset")
    if hasattr(ours, "utcoffset"):
        assert ours.utcoffset() == theirs.utcoffset()


def test_the_fast_reader_takes_ordinary_batches_itself() -> None:
    """Stepping aside for everything would pass the test above and speed up nothing."""
    taken = {name for name, body in CASES if decode_batch(body) is not None}
    assert {"valid", "most runs", "extra top key", "repeated key"} <= taken
    assert "started_at='2026-11-20 01:00:00Z'" in taken
    assert "customer='é accent'" in taken


@pytest.mark.parametrize(
    ("model", "struct"),
    [
        (RunIn, batch_decoder._Run),
        (RunObjectIn, batch_decoder._Object),
        (RunBatchIn, batch_decoder._Batch),
    ],
)
def test_the_fast_reader_has_every_length_limit_the_models_have(model: Any, struct: Any) -> None:
    """The cases above try the run's text limits; this holds every field to the models' own."""
    fields = {field.name: field.type for field in msgspec.inspect.type_info(struct).fields}
    assert set(fields) == set(model.model_fields)
    for name, field in model.model_fields.items():
        theirs = {type(m).__name__: m for m in field.metadata}
        kind = fields[name]
        if isinstance(kind, msgspec.inspect.UnionType):  # optional: its one type besides None
            [kind] = [t for t in kind.types if not isinstance(t, msgspec.inspect.NoneType)]
        assert getattr(kind, "min_length", None) == getattr(
            theirs.get("MinLen"), "min_length", None
        ), name
        assert getattr(kind, "max_length", None) == getattr(
            theirs.get("MaxLen"), "max_length", None
        ), name
