"""Veritas Backup Exec alert mails.

Subject: ``Backup Exec Alert: <category> (Server: "<server>")[ (Job: "<job>")]``; job names can
hold quotes and parentheses, so the job runs to the last ``")``. The category says what the mail
is: ``Job ...`` categories are runs, ``... Information`` is info, other ``... Warning|Error`` are
alerts. ``Job Completion Status:`` in the body, when present, decides the run status; the
"completed with exceptions" wording also contains "completed successfully", so exceptions are
checked first.
"""

from __future__ import annotations

import re

from ticketbridge.connectors.parsers.base import field, shorten
from ticketbridge.connectors.parsers.keywords import classify
from ticketbridge.core.reports import MailMessage, ParsedReport, ReportKind
from ticketbridge.core.statuses import RunStatus

NAME = "backup_exec"
PRODUCT = "Backup Exec"
SUBJECT = re.compile(
    r"^Backup Exec Alert:\s*(?P<category>.+?)\s*\(Server:\s*\"(?P<server>[^\"]*)\"\)"
    r"(?:\s*\(Job:\s*\"(?P<job>.*)\"\))?\s*$",
    re.I,
)
_COMPLETION = {
    "successful": RunStatus.SUCCESS,
    "succeeded": RunStatus.SUCCESS,
    "completed with exceptions": RunStatus.WARNING,
    "succeeded with exceptions": RunStatus.WARNING,
    "failed": RunStatus.ERROR,
    "canceled": RunStatus.FAILED,
    "cancelled": RunStatus.FAILED,
    "missed": RunStatus.MISSED,  # the one product that reports a missed run itself
}
_CATEGORY = (
    (re.compile(r"exceptions|warning", re.I), RunStatus.WARNING),
    (re.compile(r"fail|error", re.I), RunStatus.ERROR),
    (re.compile(r"cancel", re.I), RunStatus.FAILED),
    (re.compile(r"miss", re.I), RunStatus.MISSED),
    (re.compile(r"success|completed", re.I), RunStatus.SUCCESS),
)
_EXCEPTIONS = re.compile(r"following conditions were encountered|with exceptions", re.I)


def matches(msg: MailMessage) -> bool:
    return msg.subject.lower().startswith("backup exec alert:")


def parse(msg: MailMessage) -> list[ParsedReport]:
    subject = SUBJECT.match(msg.subject)
    if subject is None:
        return []
    category = subject.group("category")
    job = subject.group("job") or ""
    body = msg.text
    completion = field(body, "Job Completion Status").rstrip(".")
    kind, status = _classify(category, completion, body)
    remark = "" if status is RunStatus.SUCCESS else _remark(body, subject)
    return [
        ParsedReport(
            kind=kind,
            product=PRODUCT,
            status=status,
            raw_status=completion or category,
            job_type="backup" if kind is ReportKind.RUN else "",
            job_name=job,
            host=subject.group("server"),
            overall_remark=remark,
            details=(("category", category),),
        )
    ]


def _classify(category: str, completion: str, body: str) -> tuple[ReportKind, RunStatus]:
    lowered = category.lower()
    if lowered.endswith("information"):
        return ReportKind.INFO, RunStatus.SUCCESS
    if not lowered.startswith("job"):
        # Media, device and storage alerts: something needs attention, but no job ran.
        found = classify(category)
        return ReportKind.ALERT, found[0] if found else RunStatus.UNKNOWN
    if completion.lower() in _COMPLETION:
        return ReportKind.RUN, _COMPLETION[completion.lower()]
    if _EXCEPTIONS.search(body):
        return ReportKind.RUN, RunStatus.WARNING
    for pattern, status in _CATEGORY:
        if pattern.search(category):
            return ReportKind.RUN, status
    return ReportKind.RUN, RunStatus.UNKNOWN


def _remark(body: str, subject: re.Match[str]) -> str:
    # The body repeats the subject's server and job in parentheses; the rest is the message.
    text = body.replace(f'(Server: "{subject.group("server")}")', "")
    if subject.group("job"):
        text = text.replace(f'(Job: "{subject.group("job")}")', "")
    return shorten(text)
