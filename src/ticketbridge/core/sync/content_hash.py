"""Content hashes the reference map keeps (issue 14, items 3 and 5).

A hash covers the mapped fields only, so a change to a field the sync does not carry is no
change to it, and it does not depend on the order the PSA listed the fields in. Each field also
has a hash of its own, which is how a change is known field by field (conflicts.py). Text is
compared as the sync writes it: line endings unified and outer white space dropped, so a PSA
that stores "\r\n" or trims a trailing newline does not look like an edit.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping

FieldValue = str | int | bool | None
# Kept as a field's hash when the sync did not read the value it synced: a copy made without
# its read-back, where the PSA chose the value (Jira's first status). The first read of the
# item takes that field as synced, never as a change to carry back (services/sync/carried.py).
UNREAD = "unread"


def normalize(value: FieldValue) -> FieldValue:
    if isinstance(value, str):
        return value.replace("\r\n", "\n").replace("\r", "\n").strip()
    return value


def _digest(data: object) -> str:
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def field_hashes(fields: Mapping[str, FieldValue], mapped: Iterable[str]) -> dict[str, str]:
    """One hash per mapped field; a mapped field the item lacks counts as empty (None)."""
    return {name: _digest([name, normalize(fields.get(name))]) for name in mapped}


def combine(hashes: Mapping[str, str]) -> str:
    """The item's content hash from its field hashes."""
    return _digest(sorted(hashes.items()))


def content_hash(fields: Mapping[str, FieldValue], mapped: Iterable[str]) -> str:
    return combine(field_hashes(fields, mapped))


def file_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
