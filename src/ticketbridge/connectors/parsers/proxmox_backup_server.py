"""Proxmox Backup Server notifications, and proxmox-backup-client output mailed by a timer.

Native PBS mails (templates in proxmox-backup ``templates/default``) report maintenance jobs:
garbage collection, prune, verify, sync and tape backup, each ``successful`` or ``failed``. The
body names the datastore and job, and ends with a link to the web interface, which gives the
host. Verify failures list the snapshots that failed: those become objects.

Client backups have no template; they arrive as the output of a cron job or systemd timer
(``Timer service <root@host> ...``) and carry no result line, so the status stays unknown.
"""

from __future__ import annotations

import re

from ticketbridge.connectors.parsers.base import field, shorten
from ticketbridge.connectors.parsers.timeparse import parse_datetime, parse_duration
from ticketbridge.core.reports import MailMessage, ParsedObject, ParsedReport, ReportKind
from ticketbridge.core.statuses import RunStatus

NAME = "proxmox_backup_server"
PRODUCT = "Proxmox Backup Server"
CLIENT_PRODUCT = "Proxmox Backup Client"
SUBJECT = re.compile(
    r"^(?P<what>Garbage Collect Datastore|Pruning datastore|Verify Datastore|"
    r"Sync (?:remote|local)|Tape Backup)\b(?P<target>.*?)\s+(?P<status>successful|failed)\s*$",
    re.I,
)
_JOB_TYPES = {
    "garbage collect datastore": "garbage collection",
    "pruning datastore": "prune",
    "verify datastore": "verify",
    "sync remote": "sync",
    "sync local": "sync",
    "tape backup": "tape backup",
}
_QUOTED = re.compile(r"'([^']*)'")
_URL_HOST = re.compile(r"<https?://([^:/>\s]+)")
_FAILURE_LINE = re.compile(r"^.*\bfailed\b\s*:\s*.+$", re.I | re.M)
_SCRIPT_SENDER = re.compile(r"^(?:Timer service|Cron)\s*<[^@>]*@(?P<host>[^>]+)>", re.I)


def matches(msg: MailMessage) -> bool:
    if SUBJECT.match(msg.subject):
        return True
    return bool(_SCRIPT_SENDER.match(msg.subject) or _SCRIPT_SENDER.match(msg.sender_name)) and (
        "Starting backup protocol" in msg.text or "proxmox-backup-client" in msg.text
    )


def parse(msg: MailMessage) -> list[ParsedReport]:
    subject = SUBJECT.match(msg.subject)
    if subject is None:
        return _parse_client(msg)
    text = msg.text
    what = subject.group("what").lower()
    targets = _QUOTED.findall(subject.group("target"))
    datastore = field(text, "Datastore") or (targets[-1] if targets else "")
    job_id = field(text, "Job ID")
    failed = subject.group("status").lower() == "failed"
    host = _URL_HOST.search(text)
    objects: list[ParsedObject] = []
    if what == "verify datastore" and failed:
        objects = _failed_snapshots(text)
    remark = ""
    if failed:
        line = _FAILURE_LINE.search(text)
        remark = line.group(0).strip() if line else ""
    details = [
        (label.lower().replace(" ", "_"), value)
        for label in ("Task ID", "Remote", "Remote Store", "Tape Pool", "Tape Drive", "Duration")
        if (value := field(text, label))
    ]
    kind_name = _JOB_TYPES.get(what, what)
    return [
        ParsedReport(
            kind=ReportKind.RUN,
            product=PRODUCT,
            status=RunStatus.ERROR if failed else RunStatus.SUCCESS,
            raw_status=subject.group("status").lower(),
            job_type=kind_name,
            job_name=job_id or f"{kind_name} {datastore}".strip(),
            host=host.group(1) if host else "",
            overall_remark=shorten(remark),
            objects=tuple(objects),
            session_id=field(text, "Task ID"),
            details=(("datastore", datastore), *details) if datastore else tuple(details),
        )
    ]


def _failed_snapshots(text: str) -> list[ParsedObject]:
    start = re.search(r"Verification failed on these snapshots/groups:\s*\n", text, re.I)
    if not start:
        return []
    objects: list[ParsedObject] = []
    for line in text[start.end() :].split("\n"):
        if not line.strip():
            if objects:
                break
            continue
        if line.lower().startswith("please visit"):
            break
        objects.append(
            ParsedObject(
                name=line.strip(),
                type="snapshot",
                status=RunStatus.ERROR,
                message="verification failed",
            )
        )
    return objects


def _parse_client(msg: MailMessage) -> list[ParsedReport]:
    sender = _SCRIPT_SENDER.match(msg.subject) or _SCRIPT_SENDER.match(msg.sender_name)
    text = msg.text
    group = re.search(r"Starting backup:\s*(\S+)", text)
    host = field(text, "Client name") or (sender.group("host") if sender else "")
    end_text, duration_text = field(text, "End Time"), field(text, "Duration")
    ended = parse_datetime(end_text, msg.date)
    duration = parse_duration(duration_text)
    started = ended - duration if ended and duration is not None else None
    details = [("duration", duration_text)] if duration is not None else []
    return [
        ParsedReport(
            kind=ReportKind.RUN,
            product=CLIENT_PRODUCT,
            # The output has no result line; finishing is not proof of success.
            status=RunStatus.UNKNOWN,
            job_type="backup",
            job_name=group.group(1) if group else "",
            host=host,
            started_at=started,
            ended_at=ended,
            variant="script",
            needs_review=True,
            details=tuple(details),
        )
    ]
