"""Demo mail: sample backup reports go through the real intake, so the Inbox and mail runs fill.

Some are approved under demo customers (their runs appear in Run Checks); the others wait in the
Inbox, one lands in "could not tell". The RMM alert mails (``demo_mails/alerts``, ATES tokens of
a "Demo RMM" source) become alerts on the Alerts page: two mails of one alert of Acme Logistics
(its CustomerID mapped here), and one of a customer left unmapped, which waits for its mapping.
Seeding again changes nothing: mail is de-duplicated.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ticketbridge.services.alerts import sources
from ticketbridge.services.alerts import store as alert_store
from ticketbridge.services.mail import inbox
from ticketbridge.services.mail import intake as mail_intake
from ticketbridge.storage.models import Customer, MailMessage

MAILS_DIR = Path(__file__).parent / "mails"
ALERT_MAILS_DIR = MAILS_DIR / "alerts"
ALERT_SOURCE = "Demo RMM"
# The alert mails' CustomerID -> demo customer ("NORTHWIND-07" is left unmapped on purpose).
ALERT_CUSTOMERS = {"ACME-01": "Acme Logistics"}
# file name -> demo customer it is approved under (the rest wait for an operator)
APPROVED = {
    "veeam_br-backup-success-three-vms.eml": "Acme Logistics",
    "veeam_br-replication-failed.eml": "Acme Logistics",
    "proxmox_vzdump-pve81-successful-three-guests.eml": "Cobalt Engineering",
    "veeam_agent-windows-first-error-mail.eml": "Brightwater Dental",
}


def seed(session: Session, now: datetime) -> int:
    """Store the sample mails and approve a few; returns how many runs they made."""
    _map_alert_customers(session, now)
    paths = sorted(MAILS_DIR.glob("*.eml")) + sorted(ALERT_MAILS_DIR.glob("*.eml"))
    ids: dict[str, int] = {}
    for offset, path in enumerate(paths):
        accepted = mail_intake.accept(
            session,
            path.read_bytes(),
            now=now,
            received_at=now - timedelta(minutes=5 * (len(paths) - offset)),
        )
        ids[path.name] = accepted.mail_id
    for name, customer_name in APPROVED.items():
        customer = session.scalars(select(Customer).where(Customer.name == customer_name)).first()
        mail = session.get(MailMessage, ids.get(name, -1))
        if customer is None or mail is None or not mail.awaiting_approval:
            continue
        inbox.approve(session, mail.id, customer.id, actor="demo", now=now)
    mails = session.scalars(select(MailMessage).where(MailMessage.id.in_(list(ids.values()))))
    # A retry mail updates the run of its first mail: count runs, not mails.
    return len({run_id for mail in mails for run_id in mail.run_ids or []})


def _map_alert_customers(session: Session, now: datetime) -> None:
    source = alert_store.ensure_source(session, ALERT_SOURCE, now=now)
    for ref, name in ALERT_CUSTOMERS.items():
        customer = session.scalars(select(Customer).where(Customer.name == name)).first()
        if customer is not None and alert_store.mapped_customer(session, source.id, ref) is None:
            sources.map_customer(session, source.id, ref, customer.id, actor="demo")
