"""Attachments once, and again when the file changed (issue 14, item 5).

A file is the same file on the target when an attachment there has the same name AND the same
sha256: that is skipped. The same name with another sha256 is a changed file and is uploaded
again; another name is a new file. The hashes of the target's attachments come from the
reference map (what the sync put there) or from reading the file; the service never compares
names alone, which is how the seed re-uploaded every file on every run, nor sizes alone.

A read of the target's attachments that failed fails the item: it is never taken as "no
attachments yet", which would upload every file again. Files over the size limit and empty
files are not sent, and say so.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

DEFAULT_MAX_BYTES = 10 * 1024 * 1024


class AttachmentAction(StrEnum):
    UPLOAD = "upload"
    UPLOAD_CHANGED = "upload_changed"
    SKIP_SAME = "skip_same"
    TOO_LARGE = "too_large"
    EMPTY = "empty"
    FAIL = "fail"

    @property
    def uploads(self) -> bool:
        return self in (AttachmentAction.UPLOAD, AttachmentAction.UPLOAD_CHANGED)


@dataclass(frozen=True)
class AttachmentFile:
    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class DedupReadFailed:
    """The target's attachments could not be read (the error, safe to show)."""

    error: str


@dataclass(frozen=True)
class AttachmentPlan:
    action: AttachmentAction
    reason: str


def plan_attachment(
    source: AttachmentFile,
    on_target: Iterable[AttachmentFile] | DedupReadFailed,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> AttachmentPlan:
    """Whether ``source`` is uploaded to a target that holds ``on_target``."""
    if source.size > max_bytes:
        return AttachmentPlan(
            AttachmentAction.TOO_LARGE, f"{source.size} bytes is over the {max_bytes}-byte limit"
        )
    if source.size == 0:
        return AttachmentPlan(AttachmentAction.EMPTY, "an empty file is not sent")
    if isinstance(on_target, DedupReadFailed):
        return AttachmentPlan(
            AttachmentAction.FAIL, f"the target's attachments could not be read: {on_target.error}"
        )
    same_name = [file for file in on_target if file.name == source.name]
    if any(file.sha256 == source.sha256 for file in same_name):
        return AttachmentPlan(AttachmentAction.SKIP_SAME, "the target has this file")
    if same_name:
        return AttachmentPlan(AttachmentAction.UPLOAD_CHANGED, "the file changed; sent again")
    return AttachmentPlan(AttachmentAction.UPLOAD, "a new file")
