"""Synology Hyper Backup task notifications (DSM), in the DSM notification language.

No real mail has been seen yet: the parser follows the public descriptions (German DSM:
'erfolgreich' in the subject on success, ``Dauer:`` and ``Erhöhte Zielgröße:`` in the body;
English: '<task> on <host> has failed / has successfully completed'). One object: the task.
"""

from __future__ import annotations

from ticketbridge.connectors.parsers.base import field, shorten
from ticketbridge.connectors.parsers.synology_common import (
    ERROR_LABELS,
    status_of,
    task_and_host,
    times,
)
from ticketbridge.core.reports import MailMessage, ParsedObject, ParsedReport, ReportKind
from ticketbridge.core.statuses import RunStatus

NAME = "synology_hyper_backup"
PRODUCT = "Synology Hyper Backup"


def matches(msg: MailMessage) -> bool:
    return "hyper backup" in msg.subject.lower() or "Hyper Backup" in msg.text


def parse(msg: MailMessage) -> list[ParsedReport]:
    found = status_of(msg.subject, msg.text)
    if found is None:
        return []
    status, word = found
    task, host = task_and_host(msg.subject, msg.text)
    started, ended, duration = times(msg.text, msg.date)
    remark = "" if status is RunStatus.SUCCESS else shorten(field(msg.text, ERROR_LABELS))
    details = [("duration", duration)] if duration else []
    growth = field(
        msg.text,
        "Erhöhte Zielgröße|Increased target size|Toename doelgrootte|"
        "Augmentation de la taille de destination",
    )
    if growth:
        details.append(("target_growth", growth))
    return [
        ParsedReport(
            kind=ReportKind.RUN,
            product=PRODUCT,
            status=status,
            raw_status=word,
            job_type="backup",
            job_name=task,
            host=host,
            started_at=started,
            ended_at=ended,
            overall_remark=remark,
            objects=(ParsedObject(name=task, type="task", status=status, message=remark),)
            if task
            else (),
            details=tuple(details),
        )
    ]
