"""A ticket asked for through the API (issue 16, item 7), routed and drafted by the same rules
as a mail. Pure; no I/O.

The request is routed as a mail from its reporter with its summary as the subject would be
(sender domain and subject pattern rules; it was sent to no address, so recipient rules do not
match), then what the request names itself wins: its board, its category, its labels added.
A board or category must be one the mailbox lists (`RoutingConfig`); anything else is refused
at its field, as a routing rule naming it would be.

The draft is the mail flow's `MailTicketDraft`, so the connector gets the same fields; unlike a
subject, the summary is taken as written (no reply prefixes or ticket keys are cut from it).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ticketbridge.core.plain_text import cap, one_line
from ticketbridge.core.service_desk.drafts import (
    NO_BODY,
    DraftLimits,
    MailCommentDraft,
    MailTicketDraft,
)
from ticketbridge.core.service_desk.mail import DeskMail
from ticketbridge.core.service_desk.mail_files import FileLimits
from ticketbridge.core.service_desk.routing import FieldError, Route, RoutingConfig, route
from ticketbridge.core.service_desk.subjects import NO_SUBJECT


@dataclass(frozen=True)
class TicketRequest:
    summary: str
    description: str
    reporter: str  # an address
    reporter_name: str = ""
    board: str | None = None  # None: as routed
    category: str | None = None  # None: as routed
    labels: tuple[str, ...] = ()  # added to the routed ones


def request_errors(request: TicketRequest, config: RoutingConfig) -> list[FieldError]:
    """Every field of the request the mailbox's configuration does not allow."""
    errors = []
    if request.board is not None and request.board not in config.boards:
        choices = ", ".join(config.boards)
        message = f"Not a board of this mailbox; choose one of: {choices}."
        errors.append(FieldError("board", message))
    if request.category is not None and request.category not in config.categories:
        choices = ", ".join(config.categories)
        message = f"Not a category of this mailbox; choose one of: {choices}."
        errors.append(FieldError("category", message))
    return errors


def as_mail(request: TicketRequest) -> DeskMail:
    """The request as the mail rules read one: from its reporter, its summary the subject."""
    return DeskMail(
        message_id="",
        sender=request.reporter.lower(),
        sender_name=request.reporter_name,
        subject=request.summary,
        text=request.description,
    )


def request_route(request: TicketRequest, config: RoutingConfig) -> Route:
    """The mail flow's route for the request, with the board, category and labels it names."""
    routed = route(as_mail(request), config)
    board = request.board or routed.board
    category = request.category or routed.category
    labels: list[str] = []
    for label in (*(x for x in routed.labels if x != routed.category), *request.labels, category):
        if label and label not in labels:
            labels.append(label)
    named = [
        what
        for what, given in (
            ("board", request.board),
            ("category", request.category),
            ("labels", request.labels),
        )
        if given
    ]
    reason = routed.reason + (f" The request named its {', '.join(named)}." if named else "")
    return Route(board, category, tuple(labels), routed.rule, reason)


def draft_request(request: TicketRequest, routed: Route, *, limits: DraftLimits) -> MailTicketDraft:
    return MailTicketDraft(
        title=cap(one_line(request.summary), limits.title) or NO_SUBJECT,
        description=cap(request.description.strip(), limits.description) or NO_BODY,
        board=routed.board,
        category=routed.category,
        labels=routed.labels,
        reporter=request.reporter.lower(),
        reporter_name=request.reporter_name,
        watchers=(),
        message_id="",
    )


def draft_api_comment(text: str, *, limits: DraftLimits) -> MailCommentDraft:
    """A comment sent through the API, capped for the target; its author is the PSA's user."""
    return MailCommentDraft(cap(text.strip(), limits.comment), "", "", "")


# --- files sent with a request -------------------------------------------------------------

MIB = 1024 * 1024
_CONTENT_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$")


@dataclass(frozen=True)
class AttachmentInfo:
    filename: str
    content_type: str
    size: int


def attachment_errors(
    files: Sequence[AttachmentInfo], limits: FileLimits = FileLimits()
) -> list[FieldError]:
    """Every file the desk will not take, by its place ("attachments[2]"): the limits a mail's
    files have (core/service_desk/mail_files), refused here rather than skipped, since the
    caller is there to hear it."""
    if len(files) > limits.max_files:
        return [FieldError("attachments", f"At most {limits.max_files} files.")]
    if sum(file.size for file in files) > limits.max_total_bytes:
        total = limits.max_total_bytes // MIB
        return [FieldError("attachments", f"At most {total} MiB of files in all.")]
    errors = []
    for position, file in enumerate(files):
        at = f"attachments[{position}]"
        name = file.filename.strip()
        extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        if not name or len(name) > 255 or any(c in name for c in "/\\\x00"):
            errors.append(FieldError(at, "A file needs a plain name of at most 255 characters."))
        elif extension in limits.blocked_extensions:
            errors.append(FieldError(at, f"{name}: .{extension} files are not accepted."))
        if file.size == 0:
            errors.append(FieldError(at, f"{name or 'The file'} is empty."))
        elif file.size > limits.max_bytes:
            limit = limits.max_bytes // MIB
            errors.append(FieldError(at, f"{name or 'The file'} is over {limit} MiB."))
        if not _CONTENT_TYPE.match(file.content_type.split(";", 1)[0].strip().lower()):
            errors.append(FieldError(at, f"{name or 'The file'} has no valid content type."))
    return errors
