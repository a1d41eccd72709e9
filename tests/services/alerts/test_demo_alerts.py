"""`ticketbridge demo` fills the Alerts page from its sample RMM alert mails."""

from __future__ import annotations

import zlib

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import NOW
from ticketbridge.services.alerts.views import list_alerts
from ticketbridge.services.demo import data as demo
from ticketbridge.services.demo import mail as demo_mail
from ticketbridge.storage.models import MailMessage


def seed(db: sessionmaker[Session]) -> None:
    with db() as session:
        demo.seed(session, NOW)
        demo_mail.seed(session, NOW)
        session.commit()


def test_the_demo_mails_make_alerts_on_the_alerts_page(db: sessionmaker[Session]) -> None:
    seed(db)

    with db() as session:
        page = list_alerts(session)
        shown = [
            (row.source, row.customer, row.alert.alert_ref, row.alert.ticket_ref, row.alert.count)
            for row in page.rows
        ]
        assert shown == [
            ("Demo RMM", "Acme Logistics", "DSK-4711", None, 2),  # two mails, one alert
            ("Demo RMM", None, None, "RMM-20261120-0042", 1),  # its CustomerID is not mapped
        ]
        assert all(row.alert.state == "new" for row in page.rows)  # correlated by the job
        # Stored zlib-compressed; the token's credentials were redacted before.
        bodies = b"".join(
            zlib.decompress(m.raw or b"") for m in session.scalars(select(MailMessage))
        )
        assert b"DSK-4711" in bodies
        assert b"Demo0nlyN0tAPassw0rd" not in bodies and b"ates-demo.msp.example" not in bodies


def test_seeding_the_demo_again_adds_no_alert(db: sessionmaker[Session]) -> None:
    seed(db)
    seed(db)

    with db() as session:
        assert [row.alert.count for row in list_alerts(session).rows] == [2, 1]
