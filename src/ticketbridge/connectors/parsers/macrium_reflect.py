"""Macrium Reflect backup notifications, Site Manager notifications and Image Guardian events.

Reflect (factory default, editable per definition): subject ``<machine>[(<definition>)]
Macrium Reflect - Backup Success|Failure|with Warnings``, body starting ``Success :)``,
``Failed :(`` or ``Warning :|`` with ``Computer Name:`` and ``Backup definition:`` lines.
Site Manager: an admin-labelled subject; the body starts with the event from a closed list.
Image Guardian events are always alerts. "Macrium" must appear as a word: Cobian Reflector
is not Reflect.
"""

from __future__ import annotations

import re

from ticketbridge.connectors.parsers.base import field, first_line, shorten
from ticketbridge.connectors.parsers.timeparse import parse_datetime
from ticketbridge.core.reports import MailMessage, ParsedReport, ReportKind
from ticketbridge.core.statuses import RunStatus

NAME = "macrium_reflect"
REFLECT_SUBJECT = re.compile(
    r"^(?P<host>.*?)\s*(?:\((?P<definition>[^)]*)\))?\s*Macrium Reflect\s*-\s*"
    r"(?P<what>Backup (?:Success|Failure|Failed|with Warnings)|.+)$",
    re.I,
)
GUARDIAN_SUBJECT = re.compile(r"^Macrium Image Guardian\s*-\s*Event\s*-\s*(?P<host>.+)$", re.I)
SITE_SUBJECT = re.compile(r"^(?:(?P<site>.+?):\s*)?Site Manager Notification(?: Email)?", re.I)
_EMOTICON = (
    (re.compile(r"^\s*Success\s*:\)"), RunStatus.SUCCESS),
    (re.compile(r"^\s*Warning\s*:\|"), RunStatus.WARNING),
    (re.compile(r"^\s*Failed\s*:\("), RunStatus.ERROR),
)
_SUBJECT_STATUS = {
    "backup success": RunStatus.SUCCESS,
    "backup with warnings": RunStatus.WARNING,
    "backup failure": RunStatus.ERROR,
    "backup failed": RunStatus.ERROR,
}
# Site Manager's closed list of events: (kind, status).
_SITE_EVENTS = {
    "backup successful": (ReportKind.RUN, RunStatus.SUCCESS),
    "backup failed": (ReportKind.RUN, RunStatus.ERROR),
    "backup started": (ReportKind.INFO, RunStatus.SUCCESS),
    "backup summary": (ReportKind.SUMMARY, RunStatus.UNKNOWN),
    "disk space low": (ReportKind.ALERT, RunStatus.WARNING),
    "repository uncontactable": (ReportKind.ALERT, RunStatus.ERROR),
}
_REPOSITORY = re.compile(r"repository\s+(\S+)", re.I)
_FILE = re.compile(r"File:\s*(.+?)(?:\s+Process:|$)", re.I | re.M)


def matches(msg: MailMessage) -> bool:
    subject = msg.subject
    return bool(
        re.search(r"\bMacrium\b", subject)
        or SITE_SUBJECT.match(subject)
        or re.search(r"\bMacrium Reflect\b", msg.text[:2000])
    )


def parse(msg: MailMessage) -> list[ParsedReport]:
    subject = msg.subject
    guardian = GUARDIAN_SUBJECT.match(subject)
    if guardian:
        return [_guardian(msg, guardian.group("host").strip())]
    site = SITE_SUBJECT.match(subject)
    if site:
        return _site_manager(msg, site.group("site") or "")
    reflect = REFLECT_SUBJECT.match(subject)
    return _reflect(msg, reflect)


def _reflect(msg: MailMessage, subject: re.Match[str] | None) -> list[ParsedReport]:
    body = msg.text
    status = next((s for pattern, s in _EMOTICON if pattern.match(body)), None)
    what = subject.group("what").strip() if subject else ""
    if status is None:
        status = _SUBJECT_STATUS.get(what.lower())
    if status is None:
        return []
    host = field(body, "Computer Name") or (subject.group("host").strip() if subject else "")
    definition = field(body, "Backup definition") or (
        (subject.group("definition") or "") if subject else ""
    )
    started = field(body, "Start Time|Backup Start")
    ended = field(body, "End Time|Backup End")
    # The first line is the emoticon ('Warning :|'), not a message.
    rest = body.split("\n", 1)[1] if "\n" in body else ""
    remark = "" if status is RunStatus.SUCCESS else shorten(field(rest, "Error|Warning"))
    return [
        ParsedReport(
            kind=ReportKind.RUN,
            product="Macrium Reflect",
            status=status,
            raw_status=first_line(body)[:40] or what,
            job_type="image backup",
            job_name=definition,
            host=host,
            started_at=parse_datetime(started, msg.date),
            ended_at=parse_datetime(ended, msg.date),
            overall_remark=remark,
        )
    ]


def _site_manager(msg: MailMessage, site: str) -> list[ParsedReport]:
    body = " ".join(msg.text.split())
    event = next((name for name in _SITE_EVENTS if body.lower().startswith(name)), "")
    if not event:
        return []
    kind, status = _SITE_EVENTS[event]
    details = [("site", site.strip())] if site.strip() else []
    repository = _REPOSITORY.search(body[len(event) :])
    if repository:
        details.append(("repository", repository.group(1)))
    return [
        ParsedReport(
            kind=kind,
            product="Macrium Site Manager",
            status=status,
            raw_status=body[: len(event)],
            job_type="" if kind is not ReportKind.RUN else "image backup",
            overall_remark=shorten(body[len(event) :]),
            details=tuple(details),
        )
    ]


def _guardian(msg: MailMessage, host: str) -> ParsedReport:
    body = " ".join(msg.text.split())
    blocked = _FILE.search(body)
    return ParsedReport(
        kind=ReportKind.ALERT,
        product="Macrium Image Guardian",
        status=RunStatus.WARNING,
        raw_status="Event",
        host=host,
        overall_remark=shorten(body),
        details=(("file", blocked.group(1).strip()),) if blocked else (),
    )
