"""Synology Hyper Backup task notifications (DSM), in the DSM notification language.

No real mail has been seen yet: the parser follows the public descriptions (German DSM:
'erfolgreich' in the subject on success, ``Dauer:`` and ``Erhöhte Zielgröße:`` in the body;
English: '<task> on <host> has failed / has successfully completed'). One object: the task.
"""

from __future__ import annotations

from ticketbridge.connectors.parsers.base import field
from ticketbridge.connectors.parsers.synology_common import status_of, task_report
from ticketbridge.core.reports import MailMessage, ParsedReport

NAME = "synology_hyper_backup"
PRODUCT = "Synology Hyper Backup"


def matches(msg: MailMessage) -> bool:
    return "hyper backup" in msg.subject.lower() or "Hyper Backup" in msg.text


def parse(msg: MailMessage) -> list[ParsedReport]:
    found = status_of(msg.subject, msg.text)
    if found is None:
        return []
    growth = field(
        msg.text,
        "Erhöhte Zielgröße|Increased target size|Toename doelgrootte|"
        "Augmentation de la taille de destination",
    )
    return [
        task_report(
            msg,
            product=PRODUCT,
            status=found[0],
            raw_status=found[1],
            details=[("target_growth", growth)] if growth else [],
        )
    ]
