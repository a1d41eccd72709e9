"""The ATES tokenizer's tolerances and limits (the golden files cover whole samples)."""

from __future__ import annotations

import pytest

from ticketbridge.core.ates_tokens import MAX_VALUE_CHARS, find_tokens, redact


def test_element_names_ignore_case_and_attributes_take_any_quotes() -> None:
    text = (
        "<AUTOTASK><pw name='s3cret'/><customerid SOURCE=‘XYZ’ NAME=‘9’/>"
        "<AlertId source=XYZ name=A-1/></autotask>"
    )

    [token] = find_tokens(text)

    assert (token.source, token.customer_id, token.alert_id) == ("XYZ", "9", "A-1")
    assert token.has_credentials and "s3cret" not in redact(text)


def test_a_value_may_hold_markup_characters_inside_its_quotes() -> None:
    text = '<Autotask><PW name="a<b>c/d"/><AlertID name="5"/></Autotask>'

    assert redact(text) == '<Autotask><PW name="[redacted]"/><AlertID name="5"/></Autotask>'


def test_values_are_trimmed_collapsed_and_capped() -> None:
    long = "x" * (MAX_VALUE_CHARS + 50)
    text = f"<Autotask><DeviceID>  SRV\n 01 </DeviceID><AlertID name='{long}'/></Autotask>"

    [token] = find_tokens(text)

    assert token.device_id == "SRV 01"
    assert token.alert_id == "x" * MAX_VALUE_CHARS


def test_the_dedup_id_is_the_alert_id_else_the_ticket_id() -> None:
    [both, ticket_only, neither] = find_tokens(
        "<Autotask><AlertID name='1'/><TicketID name='T'/></Autotask>"
        "<Autotask><TicketID name='T'/></Autotask><Autotask><DeviceID name='D'/></Autotask>"
    )

    assert both.dedup_id == ("alert", "1")
    assert ticket_only.dedup_id == ("ticket", "T")
    assert neither.dedup_id is None


def test_invisible_characters_and_non_breaking_spaces_do_not_hide_a_token() -> None:
    text = "&lt;Auto\u200btask&gt;&lt;AlertID\u00a0name=&quot;42&quot;/&gt;&lt;/Autotask&gt;"

    [token] = find_tokens(text)

    assert token.alert_id == "42"


def test_facts_never_hold_the_credentials() -> None:
    [token] = find_tokens('<Autotask><ID name="me"/><PW name="pw"/></Autotask>')

    assert set(token.facts()) == {
        "source", "customer_id", "customer_name", "device_id", "alert_id", "ticket_id",
    }  # fmt: skip
    assert "pw" not in repr(token.facts().values())


@pytest.mark.parametrize(
    "text",
    [
        '<a "' * 100_000,
        "<Autotask>" * 50_000,
        "<Autotask>" + '<PW name="' * 20_000,
        "&lt;" * 200_000,
        "<!--" + "x" * 500_000,
        "<Autotask><CustomerID " + "a=b " * 50_000,
    ],
    ids=["open-quotes", "openings", "unclosed-values", "entities", "comment", "attributes"],
)
def test_hostile_input_is_read_without_error_and_stays_bounded(text: str) -> None:
    # How fast it is read is bench/parse_mail.py's question; a test only asks what comes out.
    tokens = find_tokens(text)
    redacted = redact(text)

    assert all(0 <= token.start <= token.end <= len(text) for token in tokens)
    # Each credential value found becomes "[redacted]", and nothing else changes.
    spans = sum(len(token.credential_spans) for token in tokens)
    assert len(redacted) <= len(text) + len("[redacted]") * spans
