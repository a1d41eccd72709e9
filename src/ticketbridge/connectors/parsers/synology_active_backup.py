"""Synology Active Backup for Business task notifications (DSM), in the DSM language.

No real mail has been seen yet. Public notes give the completion phrases ('has been
completed.', 'was completed.', 'was successfully completed.'); the device list, when the mail
has one as a table, gives one object per device. Without a device table the task is the
object.
"""

from __future__ import annotations

from ticketbridge.connectors.parsers.htmltext import parse_html
from ticketbridge.connectors.parsers.synology_common import status_of, task_report
from ticketbridge.connectors.parsers.tables import read_status_tables
from ticketbridge.core.reports import MailMessage, ParsedReport
from ticketbridge.core.statuses import RunStatus, worst

NAME = "synology_active_backup"
PRODUCT = "Synology Active Backup for Business"


def matches(msg: MailMessage) -> bool:
    return "active backup" in msg.subject.lower() or "Active Backup for Business" in msg.text


def parse(msg: MailMessage) -> list[ParsedReport]:
    objects = read_status_tables(parse_html(msg.html)) if msg.html else []
    found = status_of(msg.subject, msg.text)
    if found is None and not objects:
        return []
    # A device that failed makes the task's result no better than that, whatever the subject says.
    word = found[1] if found else ""
    statuses = [o.status for o in objects] + ([found[0]] if found else [])
    status = worst(statuses) or RunStatus.UNKNOWN
    return [task_report(msg, product=PRODUCT, status=status, raw_status=word, objects=objects)]
