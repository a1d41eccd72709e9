"""What the backup report parsers return, and the decoded view of a mail they read.

Plain frozen data, no I/O: the parsers in ``connectors/parsers`` build these, and the intake
service decides what to store. Only reports of kind ``run`` become runs; summaries, alerts and
info mails are kept for the operator but never counted as a job result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from ticketbridge.core.statuses import RunStatus


class ReportKind(StrEnum):
    RUN = "run"
    SUMMARY = "summary"
    ALERT = "alert"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class ParsedObject:
    """One processed item of a run: a VM, a computer, a guest, a mailbox, a backup set."""

    name: str
    type: str = ""
    status: RunStatus = RunStatus.UNKNOWN
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "status": self.status.value,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class ParsedReport:
    """One report read from a mail.

    ``started_at`` and ``ended_at`` are aware UTC datetimes or None. ``raw_status`` keeps the
    product's own word for the result so that a mapping can be audited. ``session_id`` is what
    several mails about the same run share (a retry, a first-error mail then the final one):
    the ingest side upserts on (job, session) instead of inserting blindly. ``needs_review`` is
    set when the parser guessed (the generic keyword parser always does).
    """

    kind: ReportKind
    product: str
    status: RunStatus
    job_type: str = ""
    job_name: str = ""
    host: str = ""
    started_at: datetime | None = None
    ended_at: datetime | None = None
    overall_remark: str = ""
    objects: tuple[ParsedObject, ...] = ()
    raw_status: str = ""
    session_id: str = ""
    variant: str = ""
    organisation: str = ""
    needs_review: bool = False
    details: tuple[tuple[str, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form: stable keys, ISO 8601 times (the golden fixtures use it)."""
        return {
            "kind": self.kind.value,
            "product": self.product,
            "job_type": self.job_type,
            "job_name": self.job_name,
            "host": self.host,
            "status": self.status.value,
            "raw_status": self.raw_status,
            "started_at": _iso(self.started_at),
            "ended_at": _iso(self.ended_at),
            "overall_remark": self.overall_remark,
            "session_id": self.session_id,
            "variant": self.variant,
            "organisation": self.organisation,
            "needs_review": self.needs_review,
            "details": {key: value for key, value in self.details},
            "objects": [obj.to_dict() for obj in self.objects],
        }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


@dataclass(frozen=True, slots=True)
class MailAttachment:
    """A text or HTML attachment (a detailed report, a log); binary parts are never kept."""

    filename: str
    content_type: str
    text: str


@dataclass(frozen=True, slots=True)
class MailMessage:
    """A decoded mail as the parsers see it.

    ``subject`` has forwarding prefixes (Fwd, FW, RE, AW, WG, TR) removed and whitespace
    collapsed; ``raw_subject`` is the header as decoded. ``text`` is the plain-text body, or the
    HTML body turned into text when the mail has no text part. ``date`` is the aware ``Date:``
    header (its offset is the sender's zone, used for body times that carry none).
    ``forwarded`` says the mail was unwrapped from a forward.
    """

    subject: str
    raw_subject: str = ""
    sender: str = ""
    sender_name: str = ""
    date: datetime | None = None
    text: str = ""
    html: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    attachments: tuple[MailAttachment, ...] = ()
    forwarded: bool = False
    _header_map: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    def header(self, name: str) -> str:
        """The first header of that name (case-insensitive), or ''."""
        if not self._header_map and self.headers:
            for key, value in self.headers:
                self._header_map.setdefault(key.lower(), value)
        return self._header_map.get(name.lower(), "")
