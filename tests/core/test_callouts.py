"""Extension callouts in all three formats, with Autotask's own samples and the odd offsets."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ticketbridge.core.callout_xml import (
    MAX_DEPTH,
    parse_soap,
    parse_xml_rpc,
    soap_action_parts,
)
from ticketbridge.core.callouts import (
    CalloutFormat,
    CalloutUnreadable,
    TicketSignal,
    looks_like,
    parse_name_value,
    parse_time,
    udf_matches,
)

# Autotask's help page, "Data format samples" (Name Value and Soap), verbatim.
HELP_NAME_VALUE = (
    "id=8176&number=T20211120.0001&status=New&created_datetime=2021-11-20T10:43:34.9030000-05:00"
    "&last_activity_datetime=2022-03-25T11:23:58.6100000-04:00&domain=DEV3.COM&udf=MY_UDF_VALUE"
)
ENVELOPE = (
    '<soap:Envelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
    'xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
)
HELP_SOAP = f"""<?xml version="1.0" encoding="utf-8"?>
{ENVELOPE}
<soap:Body>
<MyWebMethod xmlns="http://tempuri.org">
<id>8176</id>
<number>T20211120.0001</number>
<status>New</status>
<created_datetime>2021-11-20T10:43:34.9030000-05:00</created_datetime>
<last_activity_datetime>2022-03-25T11:23:58.6100000-04:00</last_activity_datetime>
<domain>DEV.COM</domain>
<udf>MY_UDF_VALUE</udf>
</MyWebMethod>
</soap:Body>
</soap:Envelope>"""
# Captured from a live tenant (django-autotask's tests): eight digits, an hh:mm:ss offset.
LIVE_NAME_VALUE = (
    "id=7865&number=T20191029.0002&status=New"
    "&created_datetime=2019-10-29T14:14:47.64300000-04:00:00"
    "&last_activity_datetime=2019-10-30T15:06:38.58300000-04:00:00"
)


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


HELP_SIGNAL = TicketSignal(
    ticket_id=8176,
    number="T20211120.0001",
    status="New",
    created=datetime(2021, 11, 20, 15, 43, 34, 903000, tzinfo=UTC),
    last_activity=datetime(2022, 3, 25, 15, 23, 58, 610000, tzinfo=UTC),
    domain="DEV3.COM",
    udf="MY_UDF_VALUE",
)


def test_help_page_name_value_sample_as_a_post_form() -> None:
    signal = parse_name_value("", HELP_NAME_VALUE.encode(), "application/x-www-form-urlencoded")
    assert signal == HELP_SIGNAL


def test_help_page_name_value_sample_as_a_get_query_string() -> None:
    assert parse_name_value(HELP_NAME_VALUE, b"", None) == HELP_SIGNAL


def test_live_tenant_sample_with_eight_digits_and_an_hh_mm_ss_offset() -> None:
    signal = parse_name_value("", LIVE_NAME_VALUE.encode(), "application/x-www-form-urlencoded")
    assert signal.ticket_id == 7865
    assert signal.created == datetime(2019, 10, 29, 18, 14, 47, 643000, tzinfo=UTC)
    assert signal.last_activity == datetime(2019, 10, 30, 19, 6, 38, 583000, tzinfo=UTC)
    assert signal.domain is None and signal.udf is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # seven fractional digits (.NET ticks), the help page
        ("2022-03-25T11:23:58.6100000-04:00", at(2022, 3, 25, 15, 23, 58, 610000)),
        # eight digits and the "-04:00:00" offset seen in the wild
        ("2019-10-30T15:06:38.58300000-04:00:00", at(2019, 10, 30, 19, 6, 38, 583000)),
        # digits beyond microseconds are cut, never rounded into the next second
        ("2026-03-02T09:30:59.99999999-05:00:00", at(2026, 3, 2, 14, 30, 59, 999999)),
        ("2026-03-02T09:30:00-0500", at(2026, 3, 2, 14, 30)),
        ("2026-03-02T09:30:00-05", at(2026, 3, 2, 14, 30)),
        ("2026-03-02T14:30:00Z", at(2026, 3, 2, 14, 30)),
        # no offset: Eastern wall-clock time, standard and daylight
        ("2026-01-15T09:00:00.0000000", at(2026, 1, 15, 14, 0)),
        ("2026-07-15T09:00:00", at(2026, 7, 15, 13, 0)),
        # an offset with seconds that are not zero (historic zones): kept exactly
        ("2026-03-02T09:30:00+05:30:15", at(2026, 3, 2, 3, 59, 45)),
    ],
)  # fmt: skip
def test_times_are_read_as_autotask_sends_them_and_kept_in_utc(
    text: str, expected: datetime
) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize(
    "text",
    ["yesterday", "2026-02-30T10:00:00-05:00", "2026-03-02T25:00:00", "2026-03-02T09:30:00-25:00"],
)
def test_unreadable_times_are_refused(text: str) -> None:
    with pytest.raises(CalloutUnreadable):
        parse_time(text)


def test_the_emulators_callout_time_form_reads_back_to_the_ticket_time() -> None:
    # emulators/autotask/dates.callout_time writes microseconds and two zero digits
    assert parse_time("2026-03-02T09:30:00.12345600-05:00:00") == datetime(
        2026, 3, 2, 14, 30, 0, 123456, tzinfo=UTC
    )


def test_field_names_from_the_help_page_list_are_accepted() -> None:
    body = (
        b"TicketID=12&TicketNumber=T1&TicketStatus=Complete"
        b"&TicketLastActivityDateTime=2026-03-02T09:30:00-05:00"
    )
    signal = parse_name_value("", body, "application/x-www-form-urlencoded")
    assert (signal.ticket_id, signal.number, signal.status) == (12, "T1", "Complete")
    assert signal.last_activity == datetime(2026, 3, 2, 14, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    "body",
    [b"number=T1", b"id=abc", b"id=-4", b"id=" + b"9" * 30, b"id=\xff", b"&".join([b"x=1"] * 100)],
)
def test_a_callout_without_a_usable_ticket_id_is_unreadable(body: bytes) -> None:
    with pytest.raises(CalloutUnreadable) as caught:
        parse_name_value("", body, "application/x-www-form-urlencoded")
    assert not caught.value.unsupported


def test_a_json_body_is_unsupported_for_a_name_value_callout() -> None:
    with pytest.raises(CalloutUnreadable) as caught:
        parse_name_value("", b'{"id": 1}', "application/json")
    assert caught.value.unsupported


def test_help_page_soap_sample_with_the_method_and_namespace_from_soapaction() -> None:
    parsed = parse_soap(HELP_SOAP.encode(), '"http://tempuri.org/MyWebMethod"')
    assert parsed.method == "MyWebMethod"
    assert parsed.note is None
    assert parsed.signal == TicketSignal(**(HELP_SIGNAL.__dict__ | {"domain": "DEV.COM"}))


def test_soapaction_is_split_as_the_help_page_says() -> None:
    assert soap_action_parts('"http://tempuri.org/MyWebMethod"') == (
        "MyWebMethod",
        "http://tempuri.org/",
    )
    assert soap_action_parts("urn:callouts#Closed") == ("Closed", "urn:callouts#")
    assert soap_action_parts('""') is None


def test_soap_whose_soapaction_names_another_method_is_still_read_with_a_note() -> None:
    parsed = parse_soap(HELP_SOAP.encode(), '"http://example.com/Other"')
    assert parsed.signal.ticket_id == 8176
    assert parsed.note is not None and "Other" in parsed.note


def test_soap_1_2_envelopes_are_read_too() -> None:
    body = HELP_SOAP.replace(
        "http://schemas.xmlsoap.org/soap/envelope/", "http://www.w3.org/2003/05/soap-envelope"
    )
    assert parse_soap(body.encode(), "http://tempuri.org/MyWebMethod").signal.ticket_id == 8176


XML_RPC_STRUCT = b"""<?xml version="1.0"?><methodCall><methodName>TicketCallout</methodName>
<params><param><value><struct>
<member><name>id</name><value><string>8176</string></value></member>
<member><name>number</name><value>T20211120.0001</value></member>
<member><name>status</name><value><string>Complete</string></value></member>
<member><name>last_activity_datetime</name><value><string>2022-03-25T11:23:58.6100000-04:00</string></value></member>
</struct></value></param></params></methodCall>"""


def test_xml_rpc_with_one_struct() -> None:
    parsed = parse_xml_rpc(XML_RPC_STRUCT)
    assert parsed.method == "TicketCallout"
    assert (parsed.signal.ticket_id, parsed.signal.status) == (8176, "Complete")
    assert parsed.signal.last_activity == HELP_SIGNAL.last_activity


def test_xml_rpc_with_positional_params_in_the_help_pages_order() -> None:
    values = ["8176", "T20211120.0001", "New", "2021-11-20T10:43:34.9030000-05:00",
              "2022-03-25T11:23:58.6100000-04:00", "DEV3.COM", "MY_UDF_VALUE"]  # fmt: skip
    params = "".join(f"<param><value><string>{v}</string></value></param>" for v in values)
    body = f"<methodCall><methodName>M</methodName><params>{params}</params></methodCall>"
    assert parse_xml_rpc(body.encode()).signal == HELP_SIGNAL


def test_xml_rpc_with_an_int_id() -> None:
    body = (
        b"<methodCall><methodName>M</methodName>"
        b"<params><param><value><i4>42</i4></value></param></params></methodCall>"
    )
    assert parse_xml_rpc(body).signal.ticket_id == 42


@pytest.mark.parametrize(
    "body",
    [
        # entity expansion ("billion laughs") and external entities: refused before expansion
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><methodCall>&a;</methodCall>',
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>',
        b"<methodCall>" + b"<a>" * (MAX_DEPTH + 5) + b"</a>" * (MAX_DEPTH + 5) + b"</methodCall>",
        b"<methodCall><params>",
        b"",
        b"<" + b"a" * 300_000 + b"/>",
    ],
)
def test_hostile_or_broken_xml_is_unreadable(body: bytes) -> None:
    with pytest.raises(CalloutUnreadable):
        parse_xml_rpc(body)
    with pytest.raises(CalloutUnreadable):
        parse_soap(body, "http://tempuri.org/M")


def test_a_soap_body_sent_to_an_xml_rpc_callout_is_unsupported() -> None:
    with pytest.raises(CalloutUnreadable) as caught:
        parse_xml_rpc(HELP_SOAP.encode())
    assert caught.value.unsupported


def test_formats_are_told_apart_by_content_type_and_first_bytes() -> None:
    assert looks_like(HELP_SOAP.encode(), "text/xml") is CalloutFormat.SOAP
    assert looks_like(XML_RPC_STRUCT, "text/xml") is CalloutFormat.XML_RPC
    assert looks_like(b"id=1", "application/x-www-form-urlencoded") is CalloutFormat.NAME_VALUE
    assert looks_like(b"", None) is CalloutFormat.NAME_VALUE
    assert looks_like(b'{"id":1}', "application/json") is None


def test_the_udf_filter_compares_without_case_and_empty_lets_all_through() -> None:
    signal = TicketSignal(1, udf="Backups ")
    assert udf_matches(signal, None) and udf_matches(signal, "")
    assert udf_matches(signal, "BACKUPS")
    assert not udf_matches(signal, "monitoring")
    assert not udf_matches(TicketSignal(1), "backups")
