"""A desk mail's files onto its ticket, once, through each kind's attachments capability,
against the Autotask and Jira emulators."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from email.message import EmailMessage

import httpx
import pytest

from tests.contract.harness import PsaHarness
from tests.contract.test_psa_contract import new_ticket, unique
from ticketbridge.connectors import registry
from ticketbridge.core.service_desk.mail_files import FileLimits
from ticketbridge.emulators.jira.activity import UPLOAD_LIMIT as JIRA_EMULATOR_LIMIT
from ticketbridge.services.service_desk.mail_uploads import send_mail_files

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 8
PNG = b"\x89PNG\r\n\x1a\n" + b"\x07" * 100


class EmulatorHarness(PsaHarness):
    http: httpx.Client


@pytest.fixture(params=["autotask-emulator", "jira-emulator"])
def harness(request: pytest.FixtureRequest) -> Iterator[EmulatorHarness]:
    if request.param == "jira-emulator":
        from tests.contract.jira_harness import JiraEmulatorHarness

        made: EmulatorHarness = JiraEmulatorHarness()
    else:
        from tests.contract.emulator_harness import AutotaskEmulatorHarness

        made = AutotaskEmulatorHarness()
    yield made
    made.close()


def desk_mail(*files: tuple[str, bytes]) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = "ann@customer.example"
    mail["Subject"] = "Printer down"
    mail.set_content("See the attached log.")
    mail.add_alternative('<p>Down <img src="cid:shot@x"></p>', subtype="html")
    mail.get_payload()[1].add_related(PNG, "image", "png", cid="<shot@x>")
    for name, data in files:
        mail.add_attachment(data, "application", "octet-stream", filename=name)
    return mail


def on_ticket(harness: PsaHarness, ticket_id: int) -> dict[str, str]:
    """File name -> sha256 of what the PSA holds, read back through the capability."""
    files = registry.attachments(harness.connector.kind)
    return {
        a.file_name: hashlib.sha256(
            files.download(harness.connector, a, max_bytes=1 << 24)
        ).hexdigest()
        for a in files.list_attachments(harness.connector, ticket_id)
    }


def a_ticket(harness: PsaHarness) -> int:
    return new_ticket(harness.connector, harness.add_company(unique("Contoso"))).id


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_attachments_and_inline_images_arrive_on_the_new_ticket(harness: PsaHarness) -> None:
    ticket_id = a_ticket(harness)
    raw = desk_mail(("log.pdf", PDF), ("setup.exe", b"MZ")).as_bytes()

    result = send_mail_files(harness.connector.kind, harness.connector, ticket_id, raw)

    assert result.sent == ["inline-1.png", "log.pdf"]
    assert [(s.name, s.reason) for s in result.skipped] == [
        ("setup.exe", "a .exe file is not attached")
    ]
    assert on_ticket(harness, ticket_id) == {"inline-1.png": sha(PNG), "log.pdf": sha(PDF)}


def test_a_ticket_found_again_gets_only_the_files_it_lacks(harness: PsaHarness) -> None:
    ticket_id = a_ticket(harness)
    raw = desk_mail(("log.pdf", PDF)).as_bytes()
    # An earlier attempt sent the image, then its answer was lost.
    registry.attachments(harness.connector.kind).add(
        harness.connector, ticket_id, file_name="inline-1.png", content_type="image/png", data=PNG
    )

    result = send_mail_files(
        harness.connector.kind, harness.connector, ticket_id, raw, found_again=True
    )

    assert (result.sent, result.skipped) == (["log.pdf"], [])
    assert sorted(on_ticket(harness, ticket_id)) == ["inline-1.png", "log.pdf"]


def test_a_ticket_whose_files_cannot_be_read_gets_none_rather_than_twice(
    harness: PsaHarness,
) -> None:
    ticket_id = a_ticket(harness)
    harness.delete_ticket(ticket_id)

    result = send_mail_files(
        harness.connector.kind,
        harness.connector,
        ticket_id,
        desk_mail(("log.pdf", PDF)).as_bytes(),
        found_again=True,
    )

    assert result.sent == []
    assert [s.name for s in result.skipped] == ["inline-1.png", "log.pdf"]
    assert all("could not be read" in s.reason for s in result.skipped)


def test_a_file_the_psa_refuses_is_skipped_with_its_reason_and_the_others_go(
    harness: PsaHarness,
) -> None:
    ticket_id = a_ticket(harness)
    files = registry.attachments(harness.connector.kind)
    huge = b"\x01" * ((files.max_upload_bytes or JIRA_EMULATOR_LIMIT) + 1)
    raw = desk_mail(("huge.iso", huge), ("log.pdf", PDF)).as_bytes()
    # Our own limit above the PSA's, so the PSA's is the one met.
    limits = FileLimits(max_bytes=len(huge) * 2, max_total_bytes=len(huge) * 4)

    result = send_mail_files(
        harness.connector.kind, harness.connector, ticket_id, raw, limits=limits
    )

    assert result.sent == ["inline-1.png", "log.pdf"]
    [(name, reason)] = [(s.name, s.reason) for s in result.skipped]
    assert name == "huge.iso" and ("too large" in reason or "over" in reason)


def test_a_kind_without_files_sends_none_and_says_so() -> None:
    result = send_mail_files("fake", object(), 1, desk_mail(("log.pdf", PDF)).as_bytes())

    assert result.sent == []
    assert {s.reason for s in result.skipped} == {"the fake connector takes no files"}
