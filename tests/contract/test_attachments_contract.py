"""The ``attachments`` capability, the same for every kind that declares it, against the
shipped emulators: what the sync (issue 14) and the service desk (issue 16) rely on."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import httpx
import pytest

from tests.contract.harness import PsaHarness
from tests.contract.test_psa_contract import new_ticket, unique
from ticketbridge.connectors import registry
from ticketbridge.connectors.errors import RemoteNotFound, RemoteRejected, RemoteTooLarge
from ticketbridge.connectors.psa.capabilities import Attachments, RemoteAttachment
from ticketbridge.core.sync.attachments import AttachmentAction, AttachmentFile, plan_attachment
from ticketbridge.emulators.jira.activity import UPLOAD_LIMIT as JIRA_EMULATOR_LIMIT

HARNESSES = ["autotask-emulator", "jira-emulator", "jira-dc-emulator"]
# Bytes that are not text in any encoding: a file must come back byte for byte.
REPORT = bytes(range(256)) * 40 + b"\x00\xff end of report"
CAP = 10 * 1024 * 1024


class EmulatorHarness(PsaHarness):
    http: httpx.Client


@pytest.fixture(params=HARNESSES)
def harness(request: pytest.FixtureRequest) -> Iterator[EmulatorHarness]:
    if request.param.startswith("jira"):
        from tests.contract.jira_harness import JiraEmulatorHarness

        made: EmulatorHarness = JiraEmulatorHarness(datacenter=request.param == "jira-dc-emulator")
    else:
        from tests.contract.emulator_harness import AutotaskEmulatorHarness

        made = AutotaskEmulatorHarness()
    yield made
    made.close()


@pytest.fixture
def files(harness: PsaHarness) -> Attachments:
    return registry.attachments(harness.connector.kind)


def a_ticket(harness: PsaHarness) -> int:
    return new_ticket(harness.connector, harness.add_company(unique("Contoso"))).id


def as_file(attachment: RemoteAttachment, data: bytes) -> AttachmentFile:
    return AttachmentFile(attachment.file_name, attachment.size, hashlib.sha256(data).hexdigest())


def test_added_file_lists_back_and_downloads_with_the_same_sha256(
    harness: PsaHarness, files: Attachments
) -> None:
    psa = harness.connector
    ticket_id = a_ticket(harness)
    assert files.list_attachments(psa, ticket_id) == []

    made = files.add(
        psa, ticket_id, file_name="backup-report.bin", content_type="application/pdf", data=REPORT
    )

    assert (made.ticket_id, made.file_name, made.size) == (
        ticket_id,
        "backup-report.bin",
        len(REPORT),
    )
    [listed] = files.list_attachments(psa, ticket_id)
    assert (listed.id, listed.file_name, listed.size) == (made.id, "backup-report.bin", len(REPORT))
    assert listed.content_type == "application/pdf"
    assert listed.created is not None
    data = files.download(psa, listed, max_bytes=CAP)
    assert hashlib.sha256(data).hexdigest() == hashlib.sha256(REPORT).hexdigest()
    assert data == REPORT


def test_listed_files_tell_the_sync_what_the_target_already_holds(
    harness: PsaHarness, files: Attachments
) -> None:
    psa = harness.connector
    ticket_id = a_ticket(harness)
    files.add(psa, ticket_id, file_name="log.txt", content_type="text/plain", data=b"run 1 ok\n")
    files.add(psa, ticket_id, file_name="disk.csv", content_type="text/csv", data=b"C:,91%\n")

    listed = files.list_attachments(psa, ticket_id)
    assert [a.file_name for a in listed] == ["log.txt", "disk.csv"]  # oldest first
    on_target = [as_file(a, files.download(psa, a, max_bytes=CAP)) for a in listed]

    same = AttachmentFile("log.txt", 9, hashlib.sha256(b"run 1 ok\n").hexdigest())
    changed = AttachmentFile("log.txt", 12, hashlib.sha256(b"run 2 failed").hexdigest())
    assert plan_attachment(same, on_target).action is AttachmentAction.SKIP_SAME
    assert plan_attachment(changed, on_target).action is AttachmentAction.UPLOAD_CHANGED


def test_a_deleted_ticket_is_not_found_when_listing_or_adding(
    harness: PsaHarness, files: Attachments
) -> None:
    psa = harness.connector
    ticket_id = a_ticket(harness)
    harness.delete_ticket(ticket_id)

    with pytest.raises(RemoteNotFound):
        files.list_attachments(psa, ticket_id)
    with pytest.raises(RemoteNotFound):
        files.add(psa, ticket_id, file_name="a.txt", content_type="text/plain", data=b"x")


def test_a_file_over_the_psa_limit_is_refused_as_too_large(
    harness: PsaHarness, files: Attachments
) -> None:
    psa = harness.connector
    ticket_id = a_ticket(harness)
    limit = files.max_upload_bytes or JIRA_EMULATOR_LIMIT

    with pytest.raises(RemoteTooLarge) as refused:
        files.add(psa, ticket_id, file_name="huge.iso", content_type="", data=b"\x01" * (limit + 1))

    assert "too large" in refused.value.message or "over" in refused.value.message
    assert files.list_attachments(psa, ticket_id) == []


def test_a_download_over_the_cap_is_refused_before_it_is_fetched(
    harness: PsaHarness, files: Attachments
) -> None:
    psa = harness.connector
    ticket_id = a_ticket(harness)
    made = files.add(psa, ticket_id, file_name="a.bin", content_type="", data=b"\x02" * 2048)
    [listed] = files.list_attachments(psa, ticket_id)

    with pytest.raises(RemoteTooLarge) as refused:
        files.download(psa, listed, max_bytes=1024)

    assert refused.value.limit == 1024
    assert "2048 bytes" in refused.value.message and made.id == listed.id


def test_an_empty_file_is_refused(harness: PsaHarness, files: Attachments) -> None:
    with pytest.raises(RemoteRejected, match="empty"):
        files.add(
            harness.connector, a_ticket(harness), file_name="e.txt", content_type="", data=b""
        )


def test_an_internal_file_stays_internal_or_is_not_attached(
    harness: PsaHarness, files: Attachments
) -> None:
    psa = harness.connector
    ticket_id = a_ticket(harness)

    if not files.has_visibility:
        with pytest.raises(RemoteRejected, match="visibility"):
            files.add(psa, ticket_id, file_name="i.txt", content_type="", data=b"x", internal=True)
        assert files.list_attachments(psa, ticket_id) == []
        return
    files.add(psa, ticket_id, file_name="i.txt", content_type="", data=b"x", internal=True)
    files.add(psa, ticket_id, file_name="p.txt", content_type="", data=b"y")
    listed = files.list_attachments(psa, ticket_id)
    assert [(a.file_name, a.visibility) for a in listed] == [
        ("i.txt", "internal"),
        ("p.txt", "all"),
    ]


def test_listing_a_ticket_with_files_is_one_request(
    harness: EmulatorHarness, files: Attachments
) -> None:
    psa = harness.connector
    ticket_id = a_ticket(harness)
    files.add(psa, ticket_id, file_name="log.txt", content_type="text/plain", data=b"ok")
    files.list_attachments(psa, ticket_id)  # field metadata, read once per process, is warm now
    sent: list[str] = []
    harness.http.event_hooks["request"].append(lambda request: sent.append(request.url.path))

    assert [a.file_name for a in files.list_attachments(psa, ticket_id)] == ["log.txt"]
    assert len(sent) == 1, sent


def test_many_tickets_files_list_in_one_request_and_a_deleted_ticket_is_left_out(
    harness: EmulatorHarness, files: Attachments
) -> None:
    psa = harness.connector
    company = harness.add_company(unique("Contoso"))
    with_files, empty, gone = (new_ticket(psa, company).id for _ in range(3))
    files.add(psa, with_files, file_name="b.log", content_type="text/plain", data=b"second")
    files.add(psa, with_files, file_name="a.log", content_type="text/plain", data=b"first")
    harness.delete_ticket(gone)
    files.list_for_tickets(psa, [with_files])  # field metadata, read once per process
    sent: list[str] = []
    harness.http.event_hooks["request"].append(lambda request: sent.append(request.url.path))

    listed = files.list_for_tickets(psa, [with_files, empty, gone, with_files])
    requests = list(sent)

    assert sorted(listed) == sorted([with_files, empty])  # never "no files" for a deleted one
    assert [a.file_name for a in listed[with_files]] == ["b.log", "a.log"]  # oldest first
    assert {a.ticket_id for a in listed[with_files]} == {with_files}
    assert listed[with_files] == files.list_attachments(psa, with_files)
    assert listed[empty] == []
    # One listing, never one per ticket (Autotask asks once more which tickets without
    # files still exist).
    assert len(requests) <= 2, requests


def test_listing_more_tickets_than_one_request_holds_goes_batch_by_batch(
    harness: EmulatorHarness, files: Attachments
) -> None:
    psa = harness.connector
    company = harness.add_company(unique("Contoso"))
    tickets = [new_ticket(psa, company).id for _ in range(3)]
    for ticket_id in tickets:
        files.add(psa, ticket_id, file_name=f"{ticket_id}.txt", content_type="", data=b"x")
    real_batch = files.list_batch
    try:
        # A batch of 2 stands for the PSA's page (Autotask 500, Jira 100): 3 tickets, 2 batches.
        files.list_batch = 2  # type: ignore[misc]
        listed = files.list_for_tickets(psa, tickets)
    finally:
        files.list_batch = real_batch  # type: ignore[misc]

    assert {t: [a.file_name for a in found] for t, found in listed.items()} == {
        t: [f"{t}.txt"] for t in tickets
    }
