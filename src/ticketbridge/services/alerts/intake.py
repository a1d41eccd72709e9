"""From a stored mail (or an API report) carrying an ATES token to an alert, database only.

Mail routing (services.mail_routing) calls :func:`take` first for every parsed mail: a mail
whose body holds an ATES token naming a customer, device, alert or ticket becomes an alert and
no run, whichever source it came from and whatever a backup parser made of it (a token is the
RMM's explicit request for ticket handling; backup reports do not carry one). A token with
credentials only is not an alert. The mail was redacted before it was stored, so nothing here
ever sees the token's ID or PW.

A repeat of an open alert (same source, company or else CustomerID, and Alert ID or else
Ticket ID; core.alert_dedup.group_key) is counted on it; anything else is a new alert in state
``new``, correlated with Autotask later (services.alerts.correlate), outside this transaction.
Routing the same mail again finds its occurrence and counts nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ticketbridge.connectors.parsers.registry import ParseOutcome
from ticketbridge.core import ates_tokens
from ticketbridge.core.alert_dedup import AlertKeys, group_key
from ticketbridge.core.ates_tokens import MAX_VALUE_CHARS, AtesToken
from ticketbridge.services.alerts import store
from ticketbridge.services.alerts.store import AlertState
from ticketbridge.storage.models import Alert, MailMessage

PARSER_NAME = "ates"
NOT_CORRELATED = "Not correlated with Autotask yet."


@dataclass(frozen=True)
class AlertReport:
    """What an alert says: the token's facts (never its credentials), a title and a text."""

    source: str
    customer_ref: str | None = None
    customer_name: str | None = None
    device_ref: str | None = None
    alert_ref: str | None = None
    ticket_ref: str | None = None
    title: str = ""
    summary: str = ""

    @classmethod
    def of(cls, token: AtesToken, *, title: str, summary: str) -> AlertReport:
        return cls(
            source=token.source,
            customer_ref=token.customer_id,
            customer_name=token.customer_name,
            device_ref=token.device_id,
            alert_ref=token.alert_id,
            ticket_ref=token.ticket_id,
            title=title,
            summary=summary,
        )

    @property
    def says_something(self) -> bool:
        return bool(self.customer_ref or self.device_ref or self.alert_ref or self.ticket_ref)


def token_in_texts(*texts: str) -> AtesToken | None:
    """The first token naming a customer, device, alert or ticket in the first text having
    one (plain text before HTML)."""
    for text in texts:
        if text and ates_tokens.mentions_token(text):
            token = ates_tokens.first_token(text)
            if token is not None and any(v for k, v in token.facts().items() if k != "source"):
                return token
    return None


def without_tokens(text: str) -> str:
    """A mail's text without its tokens (for the alert's summary and the ticket)."""
    pieces, last = [], 0
    for token in ates_tokens.find_tokens(text):
        pieces.append(text[last : token.start])
        last = token.end
    pieces.append(text[last:])
    return re.sub(r"\n{3,}", "\n\n", "".join(pieces)).strip()[: store.MAX_SUMMARY]


def title_for(subject: str, report: AlertReport) -> str:
    subject = re.sub(r"\s+", " ", subject).strip()
    if subject:
        return subject[: store.MAX_TITLE]
    what = f"Alert {report.alert_ref}" if report.alert_ref else "Alert"
    where = f" on device {report.device_ref}" if report.device_ref else ""
    return f"{what}{where} ({report.source or store.UNKNOWN_SOURCE})"[: store.MAX_TITLE]


def take(session: Session, mail: MailMessage, outcome: ParseOutcome, *, now: datetime) -> bool:
    """Record the mail as an alert when it carries a token; False (and nothing done) when not."""
    message = outcome.message
    if message is None:
        return False
    token = token_in_texts(message.text, message.html)
    if token is None:
        return False
    subject = message.subject or mail.subject
    occurrence = store.occurrence_of_mail(session, mail.id)
    if occurrence is not None:
        alert = store.get(session, occurrence.alert_id)
    else:
        text = without_tokens(message.text) or without_tokens(message.html)
        report = AlertReport.of(token, title=title_for(subject, _facts(token)), summary=text)
        alert = record(session, report, seen_at=mail.received_at, mail_id=mail.id, now=now)
    mail.parsed_at = now
    mail.parser = PARSER_NAME
    mail.failure = ""
    mail.awaiting_approval = False
    mail.state = "approved" if mail.state == "approved" else "parsed"
    mail.run_ids = []
    mail.detected = [
        {
            "kind": "alert",
            "alert_id": alert.id,
            "product": (token.source or store.UNKNOWN_SOURCE)[:100],
            "job_name": alert.title,
            "host": token.device_id or "",
            "status": "unknown",
            "started_at": None,
        }
    ]
    return True


def _facts(token: AtesToken) -> AlertReport:
    return AlertReport.of(token, title="", summary="")


def _storable(report: AlertReport) -> AlertReport:
    def one_line(value: str | None) -> str | None:
        cleaned = store.storable(value, MAX_VALUE_CHARS)
        return re.sub(r"\s+", " ", cleaned).strip() or None if cleaned is not None else None

    return AlertReport(
        source=one_line(report.source) or "",
        customer_ref=one_line(report.customer_ref),
        customer_name=one_line(report.customer_name),
        device_ref=one_line(report.device_ref),
        alert_ref=one_line(report.alert_ref),
        ticket_ref=one_line(report.ticket_ref),
        title=one_line(report.title) or "",
        summary=store.storable(report.summary, store.MAX_SUMMARY) or "",
    )


def record(
    session: Session,
    report: AlertReport,
    *,
    seen_at: datetime,
    mail_id: int | None,
    now: datetime,
) -> Alert:
    """Count the report on its open alert, or open a new one (state ``new``)."""
    report = _storable(report)
    source = store.ensure_source(session, report.source, now=now)
    customer_id = store.mapped_customer(session, source.id, report.customer_ref)
    company_id = store.company_of(session, customer_id)
    keys = AlertKeys(
        source.id, company_id, report.customer_ref, report.alert_ref, report.ticket_ref
    )
    key = group_key(keys)
    title = report.title or title_for("", report)
    for _ in range(3):
        existing = store.open_alert(session, key)
        if existing is not None:
            store.add_occurrence(session, existing, seen_at=seen_at, subject=title, mail_id=mail_id)
            session.flush()
            return existing
        alert = Alert(
            source_id=source.id,
            open_key=key,
            state=AlertState.NEW.value,
            customer_ref=report.customer_ref,
            customer_name=report.customer_name,
            device_ref=report.device_ref,
            alert_ref=report.alert_ref,
            ticket_ref=report.ticket_ref,
            customer_id=customer_id,
            company_id=company_id,
            title=title,
            summary=report.summary[: store.MAX_SUMMARY],
            reason=NOT_CORRELATED,
            count=0,
            first_seen_at=seen_at,
            last_seen_at=seen_at,
            first_mail_id=mail_id,
            last_mail_id=mail_id,
            create_attempts=0,
        )
        try:
            with session.begin_nested():
                session.add(alert)
                session.flush()
        except IntegrityError:  # another delivery opened this alert first: count on it
            continue
        store.add_occurrence(session, alert, seen_at=seen_at, subject=title, mail_id=mail_id)
        session.flush()
        return alert
    raise RuntimeError("the alert's key kept changing hands")  # pragma: no cover
