"""Proxmox VE vzdump backup mails (PVE 8.1+ notification templates and the older sendmail).

Subject: ``vzdump backup status (<fqdn>): backup successful|backup failed[: <error>]`` (PVE 8.0
and older put a space before the colon). The text part holds a guest table (VMID, name,
status, time, size, filename; 8.0 and older: upper-case headers and OK/FAILED), totals, and the
task log whose ``<vmid>: <date time> INFO|WARN|ERROR:`` lines carry the only timestamps.
"""

from __future__ import annotations

import re
from datetime import datetime

from ticketbridge.connectors.parsers.base import shorten
from ticketbridge.connectors.parsers.timeparse import parse_datetime, parse_duration
from ticketbridge.core.reports import MailMessage, ParsedObject, ParsedReport, ReportKind
from ticketbridge.core.statuses import RunStatus, worst

NAME = "proxmox_vzdump"
PRODUCT = "Proxmox VE vzdump"
SUBJECT = re.compile(
    r"^vzdump backup status \((?P<host>[^)]+)\)\s?:\s*backup (?P<status>successful|failed)"
    r"(?::\s*(?P<error>.+))?$",
    re.I,
)
_ROW = re.compile(
    r"^\s*(?P<vmid>\d{2,})\s+(?P<name>\S+)\s+(?P<status>ok|err|todo|failed)\b\s*(?P<rest>.*)$",
    re.I | re.M,
)
_LOG = re.compile(
    r"^(?P<vmid>\d+):\s+(?P<ts>\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})\s+(?P<level>INFO|WARN|ERROR):"
    r"\s*(?P<msg>.*)$",
    re.M,
)
_ROW_STATUS = {
    "ok": RunStatus.SUCCESS,
    "err": RunStatus.ERROR,
    "failed": RunStatus.ERROR,
    "todo": RunStatus.FAILED,  # never reached: the job was aborted before this guest
}
_STORAGE = re.compile(r"--storage\s+(\S+)")


def matches(msg: MailMessage) -> bool:
    return msg.subject.lower().startswith("vzdump backup status")


def parse(msg: MailMessage) -> list[ParsedReport]:
    subject = SUBJECT.match(msg.subject)
    if subject is None:
        return []
    text = msg.text
    logs = list(_LOG.finditer(text))
    problems: dict[str, list[tuple[str, str]]] = {}
    for line in logs:
        if line.group("level") != "INFO":
            problems.setdefault(line.group("vmid"), []).append(
                (line.group("level"), line.group("msg").strip())
            )
    objects = [_object(row, problems) for row in _guest_rows(text)]
    job_status = (
        RunStatus.SUCCESS if subject.group("status").lower() == "successful" else (RunStatus.ERROR)
    )
    status = worst([job_status, *(o.status for o in objects)]) or job_status
    started = _log_time(logs[0], msg.date) if logs else None
    total = parse_duration(_after(text, "Total running time:"))
    ended = (
        started + total if started and total else (_log_time(logs[-1], msg.date) if logs else None)
    )
    storage = _STORAGE.search(text)
    details = [("total_size", _after(text, "Total size:"))] if "Total size:" in text else []
    if total is not None:
        details.append(("duration", _after(text, "Total running time:")))
    remark = subject.group("error") or ""
    return [
        ParsedReport(
            kind=ReportKind.RUN,
            product=PRODUCT,
            status=status,
            raw_status=subject.group("status").lower(),
            job_type="backup",
            job_name=f"vzdump {storage.group(1)}" if storage else "vzdump",
            host=subject.group("host"),
            started_at=started,
            ended_at=ended,
            overall_remark=shorten(remark),
            objects=tuple(objects),
            variant="8.1+" if "Details\n=======" in text else "legacy",
            details=tuple(details),
        )
    ]


def _guest_rows(text: str) -> list[re.Match[str]]:
    # Only the table: rows stop at the totals line, and log lines never match (they have ':').
    table_end = min(
        (i for i in (text.find("Total running time"), text.find("TOTAL")) if i >= 0),
        default=len(text),
    )
    return list(_ROW.finditer(text[:table_end]))


def _object(row: re.Match[str], problems: dict[str, list[tuple[str, str]]]) -> ParsedObject:
    vmid, raw = row.group("vmid"), row.group("status").lower()
    status = _ROW_STATUS[raw]
    found = problems.get(vmid, [])
    errors = [m for level, m in found if level == "ERROR"]
    warnings = [m for level, m in found if level == "WARN"]
    message = ""
    if status is RunStatus.FAILED:
        message = "aborted"
    elif raw == "failed":
        # Legacy tables put the error after the time column.
        message = row.group("rest").split(None, 1)[1] if " " in row.group("rest") else ""
    if errors:
        message = errors[0]
    elif warnings:
        if status is RunStatus.SUCCESS:
            status = RunStatus.WARNING
        message = message or warnings[0]
    return ParsedObject(
        name=f"{vmid} {row.group('name')}",
        type="guest",
        status=status,
        message=shorten(message, 500),
    )


def _log_time(line: re.Match[str], mail_date: datetime | None) -> datetime | None:
    return parse_datetime(line.group("ts"), mail_date)


def _after(text: str, label: str) -> str:
    index = text.find(label)
    if index < 0:
        return ""
    return text[index + len(label) :].split("\n", 1)[0].strip()
