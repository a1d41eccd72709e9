"""The Inbox and mail sources in a real browser: approving chooses no customer, Ignore asks
first and Restore undoes it, a new rule is applied to waiting mail, a failed upload is named by
its file, and a mail source form reports every problem at once, keeps what was typed and tests
the connection."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import NOW, PASSWORD, add_user
from tests.services.dovecot import DovecotServer, dovecot
from tests.services.mail_support import fixture, report_mail
from ticketbridge.connectors.mail.smtp import SmtpReceiver
from ticketbridge.core.roles import Role
from ticketbridge.services.mail import intake as mail_intake
from ticketbridge.services.runs import catalog
from ticketbridge.storage.models import MailMessage

pytestmark = pytest.mark.browser
__all__ = ["dovecot"]


def _sign_in(page: Page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).not_to_have_url(f"{base_url}/login")


def _store(db: sessionmaker[Session], *mails: bytes) -> list[int]:
    with db() as session:
        ids = [mail_intake.accept(session, raw, now=NOW).mail_id for raw in mails]
        session.commit()
    return ids


def test_operator_approves_without_a_preset_customer_ignores_and_restores(
    base_url: str, page: Page, db: sessionmaker[Session]
) -> None:
    nightly, weekly = _store(db, report_mail(1), report_mail(2, job="Weekly"))
    with db() as session:
        for name in ("Acme Logistics", "Brightwater Dental"):
            catalog.create_customer(session, name, actor="t")
        session.commit()
    add_user(db, "olivia.ops", Role.OPERATOR)
    _sign_in(page, base_url, "olivia.ops")
    page.goto(f"{base_url}/inbox")

    row = page.locator(f"#mail-{nightly}")
    select = row.get_by_label("Customer")
    expect(select).to_have_value("")
    row.get_by_role("button", name="Approve").click()  # the browser asks for a customer
    expect(page.locator(f"#mail-{nightly}")).to_be_visible()
    assert select.evaluate("element => element.validity.valueMissing")

    page.locator(f"#mail-{weekly}").get_by_role("link", name="Ignore…").click()
    expect(page.get_by_role("heading", name="Ignore this mail?")).to_be_visible()
    page.get_by_role("button", name="Ignore this mail").click()
    expect(page.get_by_text("is in the Ignored lane, where Restore undoes it")).to_be_visible()
    expect(page.locator(f"#mail-{weekly}")).to_have_count(0)

    page.get_by_role("link", name="Ignored (1)").click()
    ignored = page.locator(f"#mail-{weekly}")
    expect(ignored).to_contain_text("by olivia.ops")
    expect(ignored).to_contain_text("from Waiting for approval")
    ignored.get_by_role("button", name="Restore").click()
    expect(page.get_by_text("back in Waiting for approval")).to_be_visible()
    page.get_by_role("link", name="Waiting for approval (2)").click()
    expect(page.locator(f"#mail-{weekly}")).to_be_visible()

    row = page.locator(f"#mail-{nightly}")
    row.get_by_label("Customer").select_option(label="Brightwater Dental")
    row.get_by_role("button", name="Approve").click()
    expect(page.get_by_text("Approved: 1 run(s) stored")).to_be_visible()


def test_a_failed_upload_is_named_by_its_file_with_the_reason(
    base_url: str, page: Page, db: sessionmaker[Session], tmp_path: Path
) -> None:
    broken = tmp_path / "scanner-garbage.eml"
    broken.write_bytes(b"just some bytes\n")
    add_user(db, "olivia.ops", Role.OPERATOR)
    _sign_in(page, base_url, "olivia.ops")
    page.goto(f"{base_url}/inbox")

    page.get_by_label("Upload .eml files").set_input_files(str(broken))
    page.get_by_role("button", name="Upload", exact=True).click()

    expect(page.get_by_text("scanner-garbage.eml: no mail headers found")).to_be_visible()
    with db() as session:
        mail_id = session.scalars(select(MailMessage.id)).one()
    row = page.locator(f"#mail-{mail_id}")
    expect(row.get_by_role("link", name="scanner-garbage.eml")).to_be_visible()
    expect(row).to_contain_text("no mail headers found")
    expect(row).not_to_contain_text("(no subject)")


def test_admin_adds_a_rule_and_applies_it_to_the_mail_already_waiting(
    base_url: str, page: Page, db: sessionmaker[Session]
) -> None:
    _store(
        db,
        report_mail(1),
        fixture("veeam_br/backup-copy-warning-forwarded-inline"),
        report_mail(3, sender="b@globex.example"),
    )
    with db() as session:
        catalog.create_customer(session, "Acme Logistics", actor="t")
        session.commit()
    add_user(db, "root", Role.ADMIN)
    _sign_in(page, base_url, "root")
    page.goto(f"{base_url}/admin/mail-rules")

    expect(page.get_by_label("Customer")).to_have_value("")
    page.get_by_label("Sender").fill("example.com")
    page.get_by_label("Customer").select_option(label="Acme Logistics")
    page.get_by_role("button", name="Add rule").click()

    offer = page.locator("#rule-offer")
    expect(offer).to_contain_text("1 mail(s) waiting in the Inbox match this rule")
    expect(offer).to_contain_text("[Warning] Offsite Copy")  # a forward, by its original sender
    offer.get_by_role("button", name="Apply to these 1 mail(s)").click()
    applied = "Rule applied: 1 waiting mail(s) routed, 1 run(s) stored."
    expect(page.get_by_text(applied)).to_be_visible()
    page.goto(f"{base_url}/inbox")
    expect(page.get_by_role("link", name="Waiting for approval (2)")).to_be_visible()


def test_a_source_form_shows_every_problem_at_once_keeps_input_and_tests_smtp(
    base_url: str, page: Page, db: sessionmaker[Session]
) -> None:
    add_user(db, "root", Role.ADMIN)
    _sign_in(page, base_url, "root")
    page.goto(f"{base_url}/admin/mail-sources")
    page.get_by_role("link", name="SMTP receiver").click()

    page.get_by_label("Port").fill("70000")
    page.get_by_label("Accepted recipients").fill("nobody")
    page.get_by_role("button", name="Create").click()

    errors = page.locator("#form-errors")
    expect(errors).to_contain_text("Not saved: 3 field(s) to correct.")
    expect(page.locator("#err-name")).to_contain_text("a name of 1 to 200 characters")
    expect(page.locator("#err-port")).to_contain_text("less than or equal to 65535")
    expect(page.locator("#err-accepted_recipients")).to_contain_text("'nobody' is neither")
    expect(page.get_by_label("Port")).to_have_value("70000")
    expect(page.get_by_label("Port")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Accepted recipients")).to_have_value("nobody")

    receiver = SmtpReceiver(SmtpReceiver.Config(port=0, accepted_recipients=["*"]), lambda *_: 0)
    with receiver:
        page.get_by_label("Name (required)", exact=True).fill("Receiver")
        page.get_by_label("Port").fill(str(receiver.port))
        page.get_by_label("Accepted recipients").fill("intake@msp.example")
        page.get_by_role("button", name="Test connection").click()
        result = page.locator("#test-result")
        expect(result).to_contain_text("Test connection: ok")
        expect(result).to_contain_text(f"an SMTP server answers at 127.0.0.1:{receiver.port}")
    expect(page.get_by_label("Name (required)", exact=True)).to_have_value("Receiver")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_text("Mail source Receiver created.")).to_be_visible()
    expect(page.get_by_role("link", name="Receiver", exact=True)).to_be_visible()


def test_an_imap_source_is_tested_against_dovecot_without_saving_the_password(
    base_url: str, page: Page, db: sessionmaker[Session], dovecot: DovecotServer
) -> None:
    user, password = dovecot.add_user()
    add_user(db, "root", Role.ADMIN)
    _sign_in(page, base_url, "root")
    page.goto(f"{base_url}/admin/mail-sources/new?kind=imap")

    page.get_by_label("Name (required)", exact=True).fill("Dovecot")
    page.get_by_label("Host").fill(dovecot.host)
    page.get_by_label("Port").fill(str(dovecot.port))
    page.get_by_label("Security").select_option("plain")
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Test connection").click()
    expect(page.locator("#test-result")).to_contain_text("refused the username or password")
    expect(page.get_by_label("User name")).to_have_value(user)
    expect(page.get_by_label("Password")).to_have_value("")

    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Test connection").click()
    expect(page.locator("#test-result")).to_contain_text("Test connection: ok")
    expect(page.locator("#test-result")).to_contain_text("INBOX: 0 message(s)")
    page.goto(f"{base_url}/admin/mail-sources")
    expect(page.get_by_text("No mail sources yet.")).to_be_visible()
