"""The last resort: status keywords (four languages) in a mail that talks about backups.

It reads any mail that mentions a backup-like activity and a status word, with negation guards
('0 errors', 'ohne Fehler'); every report it makes is marked for review. A mail with neither is
left for the "could not tell" lane. Cron and systemd-timer mails name their host in the
subject or sender (``Cron <root@host> ...``).
"""

from __future__ import annotations

import re

from ticketbridge.connectors.parsers.base import shorten
from ticketbridge.connectors.parsers.keywords import classify
from ticketbridge.core.reports import MailMessage, ParsedReport, ReportKind
from ticketbridge.core.statuses import RunStatus

NAME = "generic"
PRODUCT = "unknown"
_TOPIC = re.compile(
    r"backup|back-up|sicherung|datensicherung|sauvegarde|snapshot|replicat|r[eé]plication|"
    r"\bsync|\bjob\b|\btask\b|aufgabe|taak|tâche|\bcron\b|timer service|restore|archiv",
    re.I,
)
_SCRIPT = re.compile(r"^(?:Cron|Timer service)\s*<[^@>]*@(?P<host>[^>]+)>", re.I)
_STATUS_TAG = re.compile(r"^\s*[\[(](?P<word>[^\])]{1,20})[\])]\s*")
_BODY_WINDOW = 4000


def matches(msg: MailMessage) -> bool:
    return True


def parse(msg: MailMessage) -> list[ParsedReport]:
    head = msg.text[:_BODY_WINDOW]
    if not (_TOPIC.search(msg.subject) or _TOPIC.search(head)):
        return []
    found = classify(msg.subject) or classify(head)
    if found is None:
        return []
    status, word = found
    in_subject = _SCRIPT.match(msg.subject)
    script = in_subject or _SCRIPT.match(msg.sender_name)
    # A cron or timer mail's subject is '<prefix> <user@host> command': the command is the job.
    job = (
        msg.subject[in_subject.end() :].strip()
        if in_subject
        else _STATUS_TAG.sub("", msg.subject).strip()
    )
    return [
        ParsedReport(
            kind=ReportKind.RUN,
            product=PRODUCT if script is None else "script",
            status=status,
            raw_status=word,
            job_name=job,
            host=script.group("host") if script else "",
            overall_remark="" if status is RunStatus.SUCCESS else _remark(head),
            needs_review=True,
        )
    ]


def _remark(text: str) -> str:
    """The first body line that states a problem (what a human would quote)."""
    for line in text.splitlines():
        found = classify(line)
        if found is not None and found[0] is not RunStatus.SUCCESS:
            return shorten(line, 500)
    return ""
