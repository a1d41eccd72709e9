"""Mail intake's one question to the service desk: is this stored mail the desk's?

Mail routing (services/mail/routing.py) asks :func:`take` first for every mail it routes. A mail
of a service-desk mailbox is marked as the desk's (state ``service_desk``) and is never read as
a backup report: it makes no run and never waits in the Inbox. Nothing here talks to a PSA:
intake runs inside the transaction that stores the mail, and a PSA must never hold it open.
The tickets and comments are made afterwards by `process.process_pending`, outside it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from ticketbridge.services.service_desk.mailboxes import desk_source_ids
from ticketbridge.storage.models import MailMessage

DESK_STATE = "service_desk"
PARSER_NAME = "service_desk"


def take(session: Session, mail: MailMessage, *, now: datetime) -> bool:
    """Mark ``mail`` as the service desk's when its source is a service-desk mailbox."""
    if mail.source_id is None or mail.source_id not in desk_source_ids(session):
        return False
    mail.state = DESK_STATE
    mail.parser = PARSER_NAME
    mail.parsed_at = now
    mail.failure = ""
    mail.awaiting_approval = False
    mail.detected = []
    mail.run_ids = []
    return True
