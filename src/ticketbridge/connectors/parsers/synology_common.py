"""What Synology's Hyper Backup and Active Backup for Business mails share.

DSM localises both to its notification language and lets the admin edit templates, so fields
are found by localised labels and by the sentence '<task> on|auf|op|sur <host>'.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from ticketbridge.connectors.parsers.base import field, shorten
from ticketbridge.connectors.parsers.keywords import classify, label_pattern
from ticketbridge.connectors.parsers.timeparse import parse_datetime, parse_duration
from ticketbridge.core.reports import MailMessage, ParsedObject, ParsedReport, ReportKind
from ticketbridge.core.statuses import RunStatus

_TASK_SENTENCE = re.compile(
    r"(?:backup task|task|sicherungsaufgabe|aufgabe|back-uptaak|taak|tâche de sauvegarde|tâche)"
    r"\s+[\"'\[«]?\s*(?P<task>[^\"'\]»\n]+?)\s*[\"'\]»]?\s+(?:on|auf|op|sur)\s+"
    r"(?P<host>[A-Za-z0-9][\w.-]*[A-Za-z0-9])",
    re.I,
)
_HOST_TAG = re.compile(r"^\[(?P<host>[^\]]+)\]\s*")
_ERROR_LABELS = r"Error|Reason|Fehler|Ursache|Fout|Oorzaak|Erreur|Raison"


def task_and_host(subject: str, text: str) -> tuple[str, str]:
    task = field(text, label_pattern("task"))
    host = field(text, label_pattern("host"))
    for source in (subject, text):
        sentence = _TASK_SENTENCE.search(source)
        if sentence:
            task = task or sentence.group("task").strip()
            host = host or sentence.group("host").strip()
            break
    tag = _HOST_TAG.match(subject)
    if not host and tag:
        host = tag.group("host").strip()
    return task, host


def status_of(subject: str, text: str) -> tuple[RunStatus, str] | None:
    """The status the subject states, else the first lines of the body."""
    return classify(_HOST_TAG.sub("", subject)) or classify(text[:1500])


def times(text: str, mail_date: datetime | None) -> tuple[datetime | None, datetime | None, str]:
    """Start, end (start + duration when no end is given) and the duration text."""
    start_text = field(text, label_pattern("start"))
    end_text = field(text, label_pattern("end"))
    duration_text = field(text, label_pattern("duration"))
    started = parse_datetime(start_text, mail_date)
    ended = parse_datetime(end_text, mail_date)
    duration = parse_duration(duration_text)
    if ended is None and started is not None and duration is not None:
        ended = started + duration
    return started, ended, duration_text


def task_report(
    msg: MailMessage,
    *,
    product: str,
    status: RunStatus,
    raw_status: str,
    objects: Sequence[ParsedObject] = (),
    details: Sequence[tuple[str, str]] = (),
) -> ParsedReport:
    """The backup run a task mail reports: task, host, times and the error remark come from the
    mail; without ``objects`` the task itself is the one object. ``details`` follow the
    duration."""
    task, host = task_and_host(msg.subject, msg.text)
    started, ended, duration = times(msg.text, msg.date)
    remark = "" if status is RunStatus.SUCCESS else shorten(field(msg.text, _ERROR_LABELS))
    if not objects and task:
        objects = (ParsedObject(name=task, type="task", status=status, message=remark),)
    return ParsedReport(
        kind=ReportKind.RUN,
        product=product,
        status=status,
        raw_status=raw_status,
        job_type="backup",
        job_name=task,
        host=host,
        started_at=started,
        ended_at=ended,
        overall_remark=remark,
        objects=tuple(objects),
        details=((("duration", duration),) if duration else ()) + tuple(details),
    )
