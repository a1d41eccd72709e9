"""Attachments once by name and sha256; a failed read fails the item (issue 14, item 5)."""

from __future__ import annotations

from ticketbridge.core.sync.attachments import (
    AttachmentAction,
    AttachmentFile,
    DedupReadFailed,
    plan_attachment,
)
from ticketbridge.core.sync.content_hash import file_sha256

REPORT_V1 = b"%PDF-1.7 backup report v1"
REPORT_V2 = b"%PDF-1.7 backup report v2"


def file(name: str, data: bytes) -> AttachmentFile:
    return AttachmentFile(name, len(data), file_sha256(data))


def test_a_new_file_is_uploaded() -> None:
    assert plan_attachment(file("report.pdf", REPORT_V1), []).action is AttachmentAction.UPLOAD


def test_a_file_already_on_the_target_is_uploaded_once() -> None:
    on_target: list[AttachmentFile] = []
    uploads = 0
    for _ in range(3):
        result = plan_attachment(file("report.pdf", REPORT_V1), on_target)
        if result.action.uploads:
            uploads += 1
            on_target.append(file("report.pdf", REPORT_V1))
    assert uploads == 1
    assert plan_attachment(file("report.pdf", REPORT_V1), on_target).action is (
        AttachmentAction.SKIP_SAME
    )


def test_a_changed_file_with_the_same_name_is_synced_again() -> None:
    on_target = [file("report.pdf", REPORT_V1)]
    result = plan_attachment(file("report.pdf", REPORT_V2), on_target)
    assert result.action is AttachmentAction.UPLOAD_CHANGED
    assert result.action.uploads


def test_the_same_bytes_under_another_name_are_a_new_file() -> None:
    on_target = [file("report.pdf", REPORT_V1)]
    assert plan_attachment(file("copy.pdf", REPORT_V1), on_target).action is (
        AttachmentAction.UPLOAD
    )


def test_a_file_already_there_among_older_versions_is_skipped() -> None:
    on_target = [file("report.pdf", REPORT_V1), file("report.pdf", REPORT_V2)]
    assert plan_attachment(file("report.pdf", REPORT_V2), on_target).action is (
        AttachmentAction.SKIP_SAME
    )


def test_a_failed_dedup_read_fails_the_item_and_never_uploads() -> None:
    result = plan_attachment(file("report.pdf", REPORT_V1), DedupReadFailed("HTTP 503"))
    assert result.action is AttachmentAction.FAIL
    assert not result.action.uploads
    assert "HTTP 503" in result.reason


def test_a_failed_read_is_not_the_same_as_no_attachments_yet() -> None:
    source = file("report.pdf", REPORT_V1)
    assert (
        plan_attachment(source, []).action
        is not plan_attachment(source, DedupReadFailed("timeout")).action
    )


def test_a_file_over_the_size_limit_is_not_sent() -> None:
    result = plan_attachment(file("disk.vhdx", b"x" * 2048), [], max_bytes=1024)
    assert result.action is AttachmentAction.TOO_LARGE
    assert "1024" in result.reason
    at_limit = plan_attachment(file("disk.vhdx", b"x" * 1024), [], max_bytes=1024)
    assert at_limit.action is AttachmentAction.UPLOAD


def test_an_empty_file_is_not_sent() -> None:
    assert plan_attachment(file("empty.txt", b""), []).action is AttachmentAction.EMPTY
