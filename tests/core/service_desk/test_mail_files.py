"""Which files of a desk mail go onto its ticket, and why the others do not."""

from __future__ import annotations

from email.message import EmailMessage

from ticketbridge.core.service_desk.mail_files import FileLimits, mail_files

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 4
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def desk_mail() -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = "Ann <ann@example.com>"
    mail["To"] = "support@msp.example"
    mail["Subject"] = "Printer down"
    mail.set_content("The printer on floor 2 is down.")
    mail.add_alternative('<p>The printer is down. <img src="cid:logo@x"></p>', subtype="html")
    return mail


def test_attachments_and_inline_images_are_files_and_the_bodies_are_not() -> None:
    mail = desk_mail()
    html = mail.get_payload()[1]
    html.add_related(PNG, "image", "png", cid="<logo@x>")
    mail.add_attachment(PDF, "application", "pdf", filename="error log.pdf")

    files, skipped = mail_files(mail.as_bytes())

    assert [(f.name, f.content_type, f.inline) for f in files] == [
        ("inline-1.png", "image/png", True),
        ("error log.pdf", "application/pdf", False),
    ]
    assert files[1].data == PDF and files[0].data == PNG
    assert skipped == []


def test_the_same_file_twice_in_a_mail_is_sent_once_and_a_changed_one_twice() -> None:
    mail = desk_mail()
    mail.add_attachment(PDF, "application", "pdf", filename="a.pdf")
    mail.add_attachment(PDF, "application", "pdf", filename="a.pdf")
    mail.add_attachment(PDF + b"v2", "application", "pdf", filename="a.pdf")

    files, skipped = mail_files(mail.as_bytes())

    assert [len(f.data) for f in files] == [len(PDF), len(PDF) + 2]
    assert skipped == []


def test_programs_large_and_empty_files_are_skipped_with_their_reason() -> None:
    mail = desk_mail()
    mail.add_attachment(b"MZ...", "application", "octet-stream", filename="invoice.pdf.exe")
    mail.add_attachment(b"x" * 2000, "application", "zip", filename="big.zip")
    mail.add_attachment(b"", "text", "plain", filename="empty.txt")
    mail.add_attachment(b"ok", "text", "csv", filename="disk.csv")

    files, skipped = mail_files(mail.as_bytes(), FileLimits(max_bytes=1000))

    assert [f.name for f in files] == ["disk.csv"]
    assert [(s.name, s.reason) for s in skipped] == [
        ("invoice.pdf.exe", "a .exe file is not attached"),
        ("big.zip", "2000 bytes is over the 1000-byte limit"),
        ("empty.txt", "an empty file is not sent"),
    ]


def test_counts_and_totals_per_mail_are_limited() -> None:
    mail = desk_mail()
    for n in range(4):
        mail.add_attachment(bytes([n]) * 100, "application", "octet-stream", filename=f"f{n}.bin")

    files, skipped = mail_files(mail.as_bytes(), FileLimits(max_files=3, max_total_bytes=250))

    assert [f.name for f in files] == ["f0.bin", "f1.bin"]
    assert [(s.name, s.reason) for s in skipped] == [
        ("f2.bin", "over 250 bytes for one mail"),
        ("f3.bin", "over 250 bytes for one mail"),
    ]
    files, skipped = mail_files(mail.as_bytes(), FileLimits(max_files=3))
    assert [s.reason for s in skipped] == ["more than 3 files"]


def test_an_attached_mail_is_one_eml_file_and_paths_leave_the_name() -> None:
    inner = EmailMessage()
    inner["Subject"] = "Original alert"
    inner.set_content("Disk full")
    mail = desk_mail()
    mail.add_attachment(inner)
    mail.add_attachment(b"log", "text", "plain", filename="C:\\Users\\ann\\trace<1>.log")

    files, _ = mail_files(mail.as_bytes())

    assert [f.name for f in files] == ["attached-message-1.eml", "trace1.log"]
    assert b"Subject: Original alert" in files[0].data and files[0].content_type == "message/rfc822"


def test_a_mail_without_files_has_none() -> None:
    assert mail_files(desk_mail().as_bytes()) == ([], [])
