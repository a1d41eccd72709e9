"""Veeam Backup for Microsoft 365 (VB365, formerly VBO) job reports.

Subject (documented default): ``[%JobResult%] %OrgName% - %JobName% (%ObjectCount% objects),
%Issues% issues``. The organisation is kept apart because it maps to the customer. The body is
read with the Veeam report reader when it has the class hooks; above 1000 objects VB365 can
move the per-object detail into an HTML attachment, which is read the same way.
"""

from __future__ import annotations

import re

from ticketbridge.connectors.parsers.veeam_html import (
    VEEAM_STATUS,
    looks_like_report,
    read_session,
)
from ticketbridge.core.reports import MailMessage, ParsedReport, ReportKind
from ticketbridge.core.statuses import RunStatus

NAME = "veeam_m365"
PRODUCT = "Veeam Backup for Microsoft 365"
SUBJECT = re.compile(
    r"^\[(?P<status>Success|Warning|Failed)\]\s+(?P<org>.+?) - (?P<job>.+?) "
    r"\((?P<count>\d+) objects?\),\s*(?P<issues>\d+) issues?$",
    re.I,
)
_BODY_MARK = re.compile(r"Veeam Backup for Microsoft (?:365|Office 365)", re.I)


def matches(msg: MailMessage) -> bool:
    return bool(SUBJECT.match(msg.subject)) or bool(_BODY_MARK.search(msg.html[-4000:]))


def parse(msg: MailMessage) -> list[ParsedReport]:
    subject = SUBJECT.match(msg.subject)
    session = read_session(msg.html, msg.date) if msg.html else None
    if session is None or not session.objects:
        # Above 1000 objects the detail (and its session grid) comes as an HTML attachment.
        for attachment in msg.attachments:
            if attachment.content_type == "text/html" and looks_like_report(attachment.text):
                session = read_session(attachment.text, msg.date) or session
                break
    if subject is None and session is None:
        return []
    raw_status = (session.raw_status if session else "") or (
        subject.group("status") if subject else ""
    )
    status = (session.status if session else None) or VEEAM_STATUS.get(
        raw_status.lower(), RunStatus.UNKNOWN
    )
    objects = list(session.objects) if session else []
    details: list[tuple[str, str]] = []
    if subject:
        details += [("object_count", subject.group("count")), ("issues", subject.group("issues"))]
    if session and session.grid.get("duration"):
        details.append(("duration", session.grid["duration"]))
    if session and session.footer:
        details.append(("version", session.footer))
    return [
        ParsedReport(
            kind=ReportKind.RUN,
            product=PRODUCT,
            status=status,
            raw_status=raw_status,
            job_type=(session.job_type.lower() if session and session.job_type else "backup"),
            job_name=(session.job_name if session and session.job_name else "")
            or (subject.group("job") if subject else ""),
            organisation=subject.group("org") if subject else "",
            started_at=session.started_at if session else None,
            ended_at=session.ended_at if session else None,
            overall_remark=session.remark if session else "",
            objects=tuple(objects),
            needs_review=session is None,
            details=tuple(details),
        )
    ]
