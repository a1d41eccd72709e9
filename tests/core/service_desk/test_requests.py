"""A ticket asked for through the API is routed by the mailbox's rules like a mail, and what it
names itself wins; files are checked before anything is sent."""

from __future__ import annotations

from ticketbridge.core.service_desk.drafts import DraftLimits
from ticketbridge.core.service_desk.mail_files import FileLimits
from ticketbridge.core.service_desk.requests import (
    AttachmentInfo,
    TicketRequest,
    attachment_errors,
    draft_request,
    request_errors,
    request_route,
)
from ticketbridge.core.service_desk.routing import RoutingConfig, RoutingRule

CONFIG = RoutingConfig(
    boards=("10001", "10002"),
    default_board="10001",
    categories=("general", "hardware", "billing"),
    default_category="general",
    labels=("desk",),
    rules=(
        RoutingRule(
            name="printers",
            board="10002",
            subject_pattern="*printer*",
            category="hardware",
            labels=("device",),
        ),
        RoutingRule(name="acme", board="10001", sender_domains=("acme.example",)),
    ),
)


def _request(**fields: object) -> TicketRequest:
    values: dict[str, object] = {
        "summary": "Re: Printer jam [SUP-9]",
        "description": "  Paper stuck.  ",
        "reporter": "Ann@Acme.example",
    }
    return TicketRequest(**(values | fields))  # type: ignore[arg-type]


def test_the_summary_and_reporter_route_as_a_mails_subject_and_sender_would() -> None:
    routed = request_route(_request(), CONFIG)

    assert (routed.board, routed.category, routed.rule) == ("10002", "hardware", "printers")
    assert routed.labels == ("desk", "device", "hardware")
    by_sender = request_route(_request(summary="VPN down"), CONFIG)
    assert (by_sender.board, by_sender.rule) == ("10001", "acme")


def test_the_board_category_and_labels_named_replace_or_add_to_the_routed_ones() -> None:
    routed = request_route(_request(board="10001", category="billing", labels=("vip",)), CONFIG)

    assert (routed.board, routed.category) == ("10001", "billing")
    assert routed.labels == ("desk", "device", "vip", "billing")
    assert routed.reason.endswith("The request named its board, category, labels.")


def test_a_board_or_category_the_mailbox_does_not_list_is_refused_at_its_field() -> None:
    errors = request_errors(_request(board="99", category="urgent"), CONFIG)

    assert [(e.field, e.message) for e in errors] == [
        ("board", "Not a board of this mailbox; choose one of: 10001, 10002."),
        ("category", "Not a category of this mailbox; choose one of: general, hardware, billing."),
    ]
    assert request_errors(_request(board="10002", category="billing"), CONFIG) == []


def test_the_summary_is_kept_as_written_and_the_text_capped_for_the_target() -> None:
    routed = request_route(_request(description="x" * 9_000), CONFIG)

    draft = draft_request(
        _request(description="x" * 9_000),
        routed,
        limits=DraftLimits(title=255, description=8_000, comment=32_000),
    )

    assert draft.title == "Re: Printer jam [SUP-9]"
    assert len(draft.description) <= 8_000
    assert draft.reporter == "ann@acme.example"


def test_files_are_refused_by_name_size_and_type_each_at_its_place() -> None:
    files = [
        AttachmentInfo("screen.png", "image/png", 1_000),
        AttachmentInfo("setup.EXE", "application/octet-stream", 10),
        AttachmentInfo("huge.zip", "application/zip", FileLimits().max_bytes + 1),
        AttachmentInfo("empty.txt", "text/plain", 0),
        AttachmentInfo("../etc/passwd", "text/plain", 5),
        AttachmentInfo("notes.txt", "not a type", 5),
    ]

    errors = [(e.field, e.message) for e in attachment_errors(files)]

    assert errors == [
        ("attachments[1]", "setup.EXE: .exe files are not accepted."),
        ("attachments[2]", "huge.zip is over 10 MiB."),
        ("attachments[3]", "empty.txt is empty."),
        ("attachments[4]", "A file needs a plain name of at most 255 characters."),
        ("attachments[5]", "notes.txt has no valid content type."),
    ]
    too_many = [AttachmentInfo(f"{n}.txt", "text/plain", 1) for n in range(21)]
    assert [e.message for e in attachment_errors(too_many)] == ["At most 20 files."]
    too_much = [AttachmentInfo(f"{n}.zip", "application/zip", 9 * 1024 * 1024) for n in range(3)]
    assert [e.message for e in attachment_errors(too_much)] == ["At most 25 MiB of files in all."]
