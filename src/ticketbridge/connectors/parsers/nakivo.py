"""NAKIVO Backup & Replication job notifications.

No real mail and no public description of the format has been found: this parser relies only
on signals that hold for any wording. The product name must appear (subject, sender or body);
the job is the quoted name after 'job' or a 'Job name:' line; the status is the subject's
status word; a status table in the HTML body (name and status columns) gives the objects.
"""

from __future__ import annotations

import re

from ticketbridge.connectors.parsers.base import field, shorten
from ticketbridge.connectors.parsers.htmltext import parse_html
from ticketbridge.connectors.parsers.keywords import classify
from ticketbridge.connectors.parsers.tables import read_status_tables
from ticketbridge.connectors.parsers.timeparse import parse_datetime
from ticketbridge.core.reports import MailMessage, ParsedReport, ReportKind
from ticketbridge.core.statuses import RunStatus, worst

NAME = "nakivo"
PRODUCT = "NAKIVO Backup & Replication"
_JOB = re.compile(r"\bjob\s*[\"“'‘](?P<job>[^\"”'’]+)[\"”'’]", re.I)


def matches(msg: MailMessage) -> bool:
    return "nakivo" in msg.subject.lower() or "nakivo" in msg.sender or "NAKIVO" in msg.text[-3000:]


def parse(msg: MailMessage) -> list[ParsedReport]:
    text = msg.text
    job = field(text, "Job name|Job") or ""
    quoted = _JOB.search(msg.subject) or _JOB.search(text)
    if quoted:
        job = quoted.group("job").strip()
    subject_words = _JOB.sub(" ", msg.subject).replace("NAKIVO Backup & Replication", " ")
    found = classify(subject_words) or classify(field(text, "Status|Job status|Result"))
    objects = read_status_tables(parse_html(msg.html)) if msg.html else []
    if found is None and not objects:
        return []
    statuses = [o.status for o in objects] + ([found[0]] if found else [])
    status = worst(statuses) or RunStatus.UNKNOWN
    started = field(text, "Start(?:ed| time)?")
    ended = field(text, "Finish(?:ed)?|End(?:ed| time)?")
    remark = "" if status is RunStatus.SUCCESS else shorten(field(text, "Errors?|Reason|Alarm"))
    return [
        ParsedReport(
            kind=ReportKind.RUN,
            product=PRODUCT,
            status=status,
            raw_status=found[1] if found else "",
            job_type="backup",
            job_name=job,
            started_at=parse_datetime(started, msg.date),
            ended_at=parse_datetime(ended, msg.date),
            overall_remark=remark,
            objects=tuple(objects),
            needs_review=not job,
        )
    ]
