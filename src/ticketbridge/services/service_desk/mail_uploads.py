"""A desk mail's files onto its ticket (issue 16, item 2), once: the first mail's onto the
ticket it opened, a reply's onto the conversation's ticket.

Called in step 2 (services.service_desk.psa_calls) right after the ticket is made or the
reply's comment added, through the kind's ``attachments`` capability (connectors/registry.py);
which files go is the pure :func:`ticketbridge.core.service_desk.mail_files.mail_files`. A
file the PSA refuses is skipped with its reason and never fails the mail: the ticket exists
and is recorded either way, so a mail is never handled twice for a file.

Once: the files go only with a ticket this step made. A ticket found again by its reference
(a create whose answer was lost, so an earlier attempt may have sent some files) first lists
the files it holds and skips each one already there with the same name and sha256; a listing
that fails sends nothing rather than risk a second copy (the sync's rule, core/sync/attachments).
A reply's files go to the conversation's ticket, except each whose sha256 the desk already
sent there (recorded per mail in ``ServiceDeskMail.files``): a reply quoting the first mail's
attachment adds no second copy; a retried reply lists the ticket's files as a found-again ticket
does. What was sent and what was skipped, with the reason, is kept on the mail's row and shown
on the Service desk page. A kind without the capability sends nothing and says so.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy.orm import Session

from ticketbridge.connectors import registry
from ticketbridge.connectors.errors import ConnectorConfigError, ConnectorError
from ticketbridge.connectors.psa.capabilities import Attachments
from ticketbridge.core.service_desk.mail_files import (
    FileLimits,
    MailFile,
    SkippedFile,
    mail_files,
)
from ticketbridge.core.sync.attachments import (
    AttachmentAction,
    AttachmentFile,
    DedupReadFailed,
    plan_attachment,
)
from ticketbridge.services.mail.intake import raw_bytes
from ticketbridge.storage.models import MailMessage, ServiceDeskMail

log = logging.getLogger(__name__)


@dataclass
class FilesSent:
    sent: list[str] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)
    hashes: list[str] = field(default_factory=list)  # the sha256 of each file in ``sent``

    def record(self) -> dict[str, Any] | None:
        """As a desk mail's row keeps it (``ServiceDeskMail.files``); None for no files."""
        if not self.sent and not self.skipped:
            return None
        return {
            "sent": [{"name": n, "sha256": h} for n, h in zip(self.sent, self.hashes, strict=True)],
            "skipped": [{"name": s.name, "reason": s.reason} for s in self.skipped],
        }

    def sentence(self) -> str:
        """The files the ticket did not get, for the mail's record."""
        if not self.skipped:
            return ""
        return "Not attached: " + "; ".join(f"{s.name} ({s.reason})" for s in self.skipped) + "."


def keep(row: ServiceDeskMail, files: FilesSent | None) -> None:
    """What became of a mail's files, kept on its row, the skipped ones in its sentence too."""
    if files is None:
        return
    row.files = files.record()
    row.detail = " ".join(filter(None, (row.detail, files.sentence())))[:2000]


def sent_hashes(records: Iterable[dict[str, Any] | None]) -> frozenset[str]:
    """The sha256 of every file the given rows' ``files`` say went to the ticket."""
    return frozenset(
        str(f.get("sha256"))
        for record in records
        if isinstance(record, dict)
        for f in record.get("sent") or []
        if isinstance(f, dict) and f.get("sha256")
    )


def send_mail_files(
    kind: str,
    connector: Any,
    ticket_id: int,
    raw: bytes,
    *,
    found_again: bool = False,
    limits: FileLimits = FileLimits(),
    already_sent: frozenset[str] = frozenset(),
) -> FilesSent:
    """Attach the mail's files to ``ticket_id``; ``found_again`` for a ticket this step did
    not create just now (see the module docstring); ``already_sent``: the sha256 of files the desk
    already sent to the ticket (a reply quoting the first mail's attachment sends it once)."""
    try:
        capability: Attachments = registry.attachments(kind)
    except ConnectorConfigError:
        chosen, skipped = mail_files(raw, limits)
        reason = f"the {kind} connector takes no files"
        return FilesSent(skipped=[*(SkippedFile(f.name, reason) for f in chosen), *skipped])
    limits = upload_limits(capability, limits)
    chosen, skipped = mail_files(raw, limits)
    return send_files(
        capability,
        connector,
        ticket_id,
        chosen,
        found_again=found_again,
        limits=limits,
        skipped=skipped,
        already_sent=already_sent,
    )


def upload_limits(capability: Attachments, limits: FileLimits = FileLimits()) -> FileLimits:
    """The desk's file limits, within what the PSA takes."""
    if capability.max_upload_bytes is None:
        return limits
    return replace(limits, max_bytes=min(limits.max_bytes, capability.max_upload_bytes))


def send_files(
    capability: Attachments,
    connector: Any,
    ticket_id: int,
    chosen: list[MailFile],
    *,
    found_again: bool,
    limits: FileLimits,
    skipped: list[SkippedFile] | None = None,
    already_sent: frozenset[str] = frozenset(),
) -> FilesSent:
    """Attach ``chosen`` to ``ticket_id`` once (a mail's files, or a request's through the
    API); ``skipped``: files already set aside, reported with the ones refused here."""
    result = FilesSent(skipped=list(skipped or []))
    if not chosen:
        return result
    held = _held(capability, connector, ticket_id, limits) if found_again else []
    for file in chosen:
        if file.sha256 in already_sent:
            continue  # the desk sent this very file to the ticket before
        plan = plan_attachment(file.as_attachment(), held, max_bytes=limits.max_bytes)
        if plan.action is AttachmentAction.SKIP_SAME:
            continue  # sent by the earlier attempt
        if not plan.action.uploads:
            result.skipped.append(SkippedFile(file.name, plan.reason))
            continue
        try:
            capability.add(
                connector,
                ticket_id,
                file_name=file.name,
                content_type=file.content_type,
                data=file.data,
                internal=False,  # the sender's own files: the customer may see them
            )
        except ConnectorError as exc:
            result.skipped.append(SkippedFile(file.name, exc.message))
            continue
        result.sent.append(file.name)
        result.hashes.append(file.sha256)
    if result.skipped:
        log.warning(
            "Ticket %s: %d file(s) not attached: %s",
            ticket_id,
            len(result.skipped),
            "; ".join(f"{s.name}: {s.reason}" for s in result.skipped),
        )
    return result


def send_files_of_mail(
    session: Session,
    mail_id: int,
    kind: str,
    connector: Any,
    ticket_id: int,
    *,
    found_again: bool = False,
    already_sent: frozenset[str] = frozenset(),
) -> FilesSent:
    """:func:`send_mail_files` for a stored mail. The raw bytes are read and the transaction
    ended before any file goes out: no database connection waits on the PSA."""
    mail = session.get(MailMessage, mail_id)
    raw = raw_bytes(mail) if mail is not None else None
    session.commit()
    if raw is None:
        return FilesSent(skipped=[SkippedFile("(the mail)", "its raw bytes were purged")])
    return send_mail_files(
        kind, connector, ticket_id, raw, found_again=found_again, already_sent=already_sent
    )


def _held(
    capability: Attachments, connector: Any, ticket_id: int, limits: FileLimits
) -> list[AttachmentFile] | DedupReadFailed:
    try:
        found = capability.list_attachments(connector, ticket_id)
        return [
            AttachmentFile(
                a.file_name,
                a.size,
                hashlib.sha256(
                    capability.download(connector, a, max_bytes=limits.max_bytes)
                ).hexdigest(),
            )
            for a in found
            if a.size <= limits.max_bytes  # a larger one cannot be a file this mail sends
        ]
    except ConnectorError as exc:
        return DedupReadFailed(exc.message)
