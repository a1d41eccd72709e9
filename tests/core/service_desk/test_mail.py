from __future__ import annotations

from datetime import UTC, datetime

from tests.core.service_desk.mails import built, fixture
from ticketbridge.core.service_desk.mail import (
    message_id_list,
    normalise_message_id,
    parse_desk_mail,
)


def test_message_ids_lose_brackets_and_the_case_of_their_domain_only() -> None:
    assert normalise_message_id(" <Abc.1@Mail.Example.COM>\r\n") == "Abc.1@mail.example.com"
    assert normalise_message_id("Abc.1@MAIL.example") == "Abc.1@mail.example"
    assert normalise_message_id("<>") == normalise_message_id("") == ""
    assert normalise_message_id("<" + "a" * 600 + "@x>") == ""


def test_references_keep_their_order_without_repeats_and_accept_unbracketed_ids() -> None:
    assert message_id_list("<a@X.example> <b@x.example>\r\n <a@x.example>") == (
        "a@x.example",
        "b@x.example",
    )
    assert message_id_list("a@x.example, b@x.example") == ("a@x.example", "b@x.example")
    many = " ".join(f"<{n}@x.example>" for n in range(150))
    assert message_id_list(many)[-1] == "149@x.example"
    assert len(message_id_list(many)) == 100


def test_an_outlook_mail_reads_with_decoded_names_subject_and_lower_case_addresses() -> None:
    mail = fixture("new_request")
    assert mail.sender == "jana.novak@customer.example"
    assert mail.sender_name == "Jana Novák"
    assert mail.subject == "Drucker im 2. Stock ist offline"
    assert mail.message_id.endswith("@am6pr02mb4423.eurprd02.prod.outlook.com")
    assert mail.cc == ("tom.berg@customer.example", "support@msp.example")
    assert "früh" in mail.text and "<p>" in mail.html
    assert mail.date == datetime(2024, 3, 5, 8, 12, 44, tzinfo=UTC)


def test_the_null_sender_and_a_missing_return_path_are_told_apart() -> None:
    assert fixture("postfix_bounce").return_path == ""
    assert fixture("exchange_out_of_office").return_path is None
    assert fixture("new_request").return_path == "jana.novak@customer.example"


def test_recipients_include_delivery_headers_for_aliases_and_bcc() -> None:
    mail = built("To: someone@customer.example", "Delivered-To: Billing@MSP.example")
    assert mail.recipients == ("someone@customer.example", "billing@msp.example")


def test_a_multipart_report_keeps_its_type() -> None:
    mail = fixture("postfix_bounce")
    assert (mail.content_type, mail.report_type) == ("multipart/report", "delivery-status")


def test_a_graph_conversation_id_is_carried_alongside_the_mime() -> None:
    assert fixture("new_request", conversation_id=" AAQkAGI2 ").conversation_id == "AAQkAGI2"


def test_malformed_headers_read_as_absent_instead_of_failing() -> None:
    mail = built(
        "From: <<<",
        "Date: yesterday-ish",
        "Message-ID:",
        "Content-Type: text/plain; charset=x-nonsense",
    )
    assert mail.sender == "" and mail.date is None and mail.message_id == ""
    assert "laptop" in mail.text


def test_repeated_headers_are_kept_once_each_in_order() -> None:
    mail = built("Received: from a", "Received: from b")
    assert [v for k, v in mail.headers if k.lower() == "received"] == ["from a", "from b"]
    assert mail.header("RECEIVED") == "from a"


def test_mail_that_is_barely_mail_still_reads() -> None:
    for raw in (
        b"",
        b"\xff\xfe\x00 not a mail",
        b'From: "unterminated <a@b\r\nSubject: =?utf-8?b?!!!?=\r\nTo: undisclosed:;\r\n'
        b"Content-Type: multipart/mixed\r\n\r\nno boundary",
    ):
        mail = parse_desk_mail(raw)
        assert mail.message_id == "" and mail.to == ()
