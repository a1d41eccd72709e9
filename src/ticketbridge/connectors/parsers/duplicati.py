"""Duplicati result mails: the ``%RESULT%`` text body (``Key: Value`` lines) or its JSON form.

Subject (default ``Duplicati %OPERATIONNAME% report for %backup-name%``, often with the result
in front or in parentheses) gives the job. Times: since 2.0.4 the Unix epoch follows the
locale-formatted time in parentheses and wins; older builds print local time only, read in the
``Date:`` header's zone. ``ParsedResult: Success`` can come with warnings; the result word is
kept and the warnings go into the remark.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from ticketbridge.connectors.parsers.base import field, first_line, shorten
from ticketbridge.connectors.parsers.timeparse import parse_datetime, to_utc
from ticketbridge.core.reports import MailMessage, ParsedObject, ParsedReport, ReportKind
from ticketbridge.core.statuses import RunStatus

NAME = "duplicati"
PRODUCT = "Duplicati"
SUBJECT = re.compile(
    r"Duplicati\s+(?P<op>\w+)\s+(?:\((?P<result>\w+)\)\s+)?report for\s+(?P<job>.+)$", re.I
)
RESULTS = {
    "success": RunStatus.SUCCESS,
    "warning": RunStatus.WARNING,
    "error": RunStatus.ERROR,
    "fatal": RunStatus.FAILED,
    "unknown": RunStatus.UNKNOWN,
}
_LIST = re.compile(
    r"^(?:Limited)?(?P<key>Warnings|Errors):\s*\[(?P<body>.*?)(?:\]\s*$|\Z)", re.M | re.S
)


def matches(msg: MailMessage) -> bool:
    head = msg.text[:200]
    return (
        bool(SUBJECT.search(msg.subject))
        or ("MainOperation:" in msg.text and "ParsedResult:" in msg.text)
        or head.lstrip().startswith('{"Data":')
    )


def parse(msg: MailMessage) -> list[ParsedReport]:
    body = msg.text.strip()
    if body.startswith('{"Data":'):
        return _parse_json(msg, body)
    result = field(body, "ParsedResult")
    if not result:
        return []
    subject = SUBJECT.search(msg.subject) or SUBJECT.search(first_line(body))
    job = subject.group("job").strip() if subject else ""
    operation = field(body, "MainOperation")
    status = RESULTS.get(result.lower(), RunStatus.UNKNOWN)
    remark = _remark(body)
    failure = field(body, "Failed")
    if failure:
        remark = shorten(f"Failed: {failure} {field(body, 'Details')}".strip())
    details = [
        (key.lower(), value)
        for key in ("Version", "Duration", "ExaminedFiles", "AddedFiles", "SizeOfAddedFiles")
        if (value := field(body, key))
    ]
    return [
        _report(
            msg,
            job,
            operation,
            status,
            result,
            remark,
            begin=parse_datetime(field(body, "BeginTime"), msg.date),
            end=parse_datetime(field(body, "EndTime"), msg.date),
            details=details,
        )
    ]


def _report(
    msg: MailMessage,
    job: str,
    operation: str,
    status: RunStatus,
    raw_status: str,
    remark: str,
    *,
    begin: datetime | None,
    end: datetime | None,
    details: list[tuple[str, str]],
    host: str = "",
) -> ParsedReport:
    # List, Compact and Test mails (send-mail-any-operation) are not backup runs.
    is_backup = operation.lower() in ("", "backup")
    return ParsedReport(
        kind=ReportKind.RUN if is_backup else ReportKind.INFO,
        product=PRODUCT,
        status=status,
        raw_status=raw_status,
        job_type=(operation or "backup").lower(),
        job_name=job,
        host=host,
        started_at=begin,
        ended_at=end,
        overall_remark=remark,
        objects=(ParsedObject(name=job or "backup set", type="backup set", status=status),)
        if is_backup
        else (),
        needs_review=status is RunStatus.UNKNOWN or not job,
        details=tuple(details),
    )


def _remark(body: str) -> str:
    parts = []
    for found in sorted(_LIST.finditer(body), key=lambda m: m.group("key")):
        items = [" ".join(i.split()) for i in found.group("body").split(",\n")]
        items = [i.rstrip(",") for i in items if i]
        if items:
            parts.append(f"{found.group('key')}: " + "; ".join(items))
    return shorten(" | ".join(parts))


def _parse_json(msg: MailMessage, body: str) -> list[ParsedReport]:
    try:
        document = json.loads(body)
    except ValueError:
        return []
    data: dict[str, Any] = document.get("Data") or {}
    extra: dict[str, Any] = document.get("Extra") or {}
    if not isinstance(data, dict) or "ParsedResult" not in data:
        return []
    result = str(data.get("ParsedResult", ""))
    status = RESULTS.get(result.lower(), RunStatus.UNKNOWN)
    subject = SUBJECT.search(msg.subject)
    job = str(extra.get("backup-name") or (subject.group("job") if subject else ""))
    notes = [f"Errors: {'; '.join(map(str, data['Errors']))}"] if data.get("Errors") else []
    if data.get("Warnings"):
        notes.append(f"Warnings: {'; '.join(map(str, data['Warnings']))}")
    return [
        _report(
            msg,
            job,
            str(data.get("MainOperation", "")),
            status,
            result,
            shorten(" | ".join(notes)),
            begin=_json_time(data.get("BeginTime"), msg.date),
            end=_json_time(data.get("EndTime"), msg.date),
            details=[("version", str(data["Version"]))] if data.get("Version") else [],
            host=str(extra.get("machine-name", "")),
        )
    ]


def _json_time(value: object, mail_date: datetime | None) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return parse_datetime(value, mail_date)
    return to_utc(moment, mail_date)
