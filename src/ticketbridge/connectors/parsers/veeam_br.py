"""Veeam Backup & Replication job session reports (backup, backup copy, replication, agent jobs).

Subject (default, editable): ``[%JobResult%] %JobName% (%ObjectCount% objects) %Issues%``; the
unit word varies (VMs, machines, objects, instances). The HTML body is the authority: the title
cell gives job type and name, the status cell the result, the summary grid the times and
remark, and the object table one row per VM or computer. Daily repository and update reports
in the same layout are summaries, not runs.
"""

from __future__ import annotations

import re

from ticketbridge.connectors.parsers.base import shorten
from ticketbridge.connectors.parsers.veeam_html import (
    VEEAM_STATUS,
    VeeamSession,
    looks_like_report,
    read_session,
)
from ticketbridge.core.reports import MailMessage, ParsedReport, ReportKind
from ticketbridge.core.statuses import RunStatus

NAME = "veeam_br"
PRODUCT = "Veeam Backup & Replication"

SUBJECT = re.compile(
    r"^\[(?P<status>Success|Warning|Failed|Error)\]\s+(?P<job>.+?)\s+"
    r"\((?P<count>\d+)\s+(?P<unit>VMs?|machines?|objects?|instances?|computers?|servers?)\)"
    r"\s*(?P<issues>.*)$",
    re.I,
)
# Titles of daily reports in the job-report layout that describe no job session.
_SUMMARY_TITLES = re.compile(
    r"^(?:scale-out backup repository|software updates summary|rescan|backup policy|"
    r"configuration backup|data resilience|daily summary)",
    re.I,
)
_DETAIL_KEYS = ("duration", "total size", "backup size", "data read", "transferred")


def matches(msg: MailMessage) -> bool:
    return bool(SUBJECT.match(msg.subject)) or looks_like_report(msg.html)


def parse(msg: MailMessage) -> list[ParsedReport]:
    session = read_session(msg.html, msg.date) if msg.html else None
    subject = SUBJECT.match(msg.subject)
    if session is None and subject is None:
        return []
    return [build_report(msg, session, subject, product=PRODUCT)]


def build_report(
    msg: MailMessage,
    session: VeeamSession | None,
    subject: re.Match[str] | None,
    *,
    product: str,
    variant: str = "",
    host: str = "",
) -> ParsedReport:
    """A report from the HTML session when there is one, else from the subject alone."""
    subject_status = subject.group("status") if subject else ""
    if session is None:
        assert subject is not None
        return ParsedReport(
            kind=ReportKind.RUN,
            product=product,
            status=VEEAM_STATUS.get(subject_status.lower(), RunStatus.UNKNOWN),
            raw_status=subject_status,
            job_name=subject.group("job"),
            host=host,
            variant=variant,
            needs_review=True,
            details=_subject_details(subject),
        )
    kind = ReportKind.RUN
    if not session.job_name or _SUMMARY_TITLES.match(session.title):
        kind = ReportKind.SUMMARY
    raw_status = session.raw_status or subject_status
    status = session.status or VEEAM_STATUS.get(raw_status.lower(), RunStatus.UNKNOWN)
    details = [
        (key.replace(" ", "_"), session.grid[key]) for key in _DETAIL_KEYS if session.grid.get(key)
    ]
    if session.processed:
        details.append(("processed", session.processed))
    if session.footer:
        details.append(("version", session.footer))
    details.extend(_subject_details(subject))
    return ParsedReport(
        kind=kind,
        product=product,
        status=status,
        raw_status=raw_status,
        job_type=session.job_type.lower(),
        job_name=session.job_name or (subject.group("job") if subject else session.title),
        host=host,
        started_at=session.started_at,
        ended_at=session.ended_at,
        overall_remark=shorten(session.remark),
        objects=tuple(session.objects),
        variant=variant,
        details=tuple(details),
    )


def _subject_details(subject: re.Match[str] | None) -> tuple[tuple[str, str], ...]:
    if subject is None:
        return ()
    found = [("object_count", subject.group("count"))]
    if subject.group("issues").strip():
        found.append(("issues", subject.group("issues").strip()))
    return tuple(found)
