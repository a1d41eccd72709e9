"""The emulator as a sandbox shipped to users (issue 10, item 8): hostile input gets an answer
in Autotask's own error shape and leaves the emulator working; nothing reaches a traceback.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from ticketbridge.cli.emulate import default_public_url
from ticketbridge.emulators.autotask import DEMO_API_USER, create_app
from ticketbridge.emulators.autotask.query import MAX_FILTER_DEPTH

from .conftest import API, BASE, HEADERS, Api, errors

ZONE = f"{API}/zoneInformation"
OUT_OF_RANGE = (
    "The conversion of a varchar data type to a datetime data type resulted in an "
    "out-of-range value."
)


def still_answers(api: Api) -> None:
    """The regression the issue saw: after bad admin input every API call failed."""
    response = api.get("/Companies/0")
    assert response.status_code == 200, response.text


def nested_filter(levels: int) -> str:
    leaf = '{"op":"eq","field":"id","value":1}'
    return '{"filter":[' + '{"op":"and","items":[' * levels + leaf + "]}" * levels + "]}"


# --- admin input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"kind": "status", "probability": "x"}, "probability"),
        ({"kind": "status", "probability": 1.5}, "probability"),
        ({"kind": "status", "count": "many"}, "count"),
        ({"kind": "status", "count": 0}, "count"),
        ({"kind": "status", "methods": 5}, "methods"),
        ({"kind": "status", "methods": ["FETCH"]}, "methods.0"),
        ({"kind": "status", "status": "abc"}, "status"),
        ({"kind": "status", "status": 200}, "status"),
        ({"kind": "latency", "seconds": 1e300}, "seconds"),
        ({"kind": "meteor"}, "kind"),
    ],
)
def test_fault_with_invalid_options_is_refused_and_the_api_keeps_working(
    client: TestClient, api: Api, spec: dict[str, Any], field: str
) -> None:
    response = client.post("/_emulator/faults", json=spec)
    assert response.status_code == 400
    assert errors(response)[0].startswith(f"{field}: ")
    assert client.get("/_emulator/faults").json()["faults"] == []
    still_answers(api)


def test_a_fault_list_is_added_whole_or_not_at_all(client: TestClient) -> None:
    specs = [{"kind": "status", "status": 503}, {"kind": "status", "count": "many"}]
    assert client.post("/_emulator/faults", json={"faults": specs}).status_code == 400
    assert client.get("/_emulator/faults").json()["faults"] == []


def test_fault_methods_are_case_insensitive(client: TestClient) -> None:
    added = client.post("/_emulator/faults", json={"kind": "status", "methods": ["post"]})
    assert added.status_code == 200
    assert added.json()["faults"][0]["methods"] == ["POST"]


@pytest.mark.parametrize("amount", ["1e300", "-1e300", "NaN", "Infinity", '"soon"'])
def test_clock_advance_that_is_not_a_bounded_number_is_refused(
    client: TestClient, api: Api, amount: str
) -> None:
    response = client.post("/_emulator/clock", content=f'{{"advance_seconds": {amount}}}')
    assert response.status_code == 400
    assert errors(response)[0].startswith("advance_seconds: ")
    assert client.get("/_emulator/clock").json()["offset_seconds"] == 0
    still_answers(api)


def test_clock_moves_that_add_up_past_the_bound_are_refused(client: TestClient) -> None:
    century = 100 * 366 * 86_400
    assert client.post("/_emulator/clock", json={"advance_seconds": century}).status_code == 200
    assert client.post("/_emulator/clock", json={"advance_seconds": 1}).status_code == 400
    assert client.get("/_emulator/clock").json()["offset_seconds"] == century


@pytest.mark.parametrize(
    "change", [{"threshold": -1}, {"threshold": "many"}, {"delay_at_50": 1e300}, {"colour": 1}]
)
def test_limits_that_make_no_sense_are_refused(
    client: TestClient, api: Api, change: dict[str, Any]
) -> None:
    assert client.patch("/_emulator/limits", json=change).status_code == 400
    assert client.get("/_emulator/limits").json()["threshold"] == 10_000
    still_answers(api)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/_emulator/reset", {"seed": "moon"}),
        ("POST", "/_emulator/companies", [1, 2]),
        ("POST", "/_emulator/companies", {"companyName": "X", "asResourceID": "me"}),
        ("PATCH", "/_emulator/tickets/²", {"status": 5}),
        ("POST", "/_emulator/restore", {"tables": {"tickets": [{"title": "no id"}]}}),
        ("POST", "/_emulator/restore", {"tables": {"nothing": []}}),
        ("POST", "/_emulator/udfs/Tickets", {"name": "Site", "length": "long"}),
        ("POST", "/_emulator/picklists/Tickets/queueID", {"value": 1}),
        ("GET", "/_emulator/requests?since=yesterday", None),
    ],
)
def test_other_admin_input_is_validated(
    client: TestClient, api: Api, method: str, path: str, body: Any
) -> None:
    response = client.request(method, path, json=body)
    assert response.status_code == 400, response.text
    assert isinstance(errors(response)[0], str)
    still_answers(api)


# --- the real namespace --------------------------------------------------------------------


def test_query_filter_nested_deeper_than_the_limit_is_refused_as_autotask_refuses_a_query(
    api: Api,
) -> None:
    deep = api.client.post(
        f"{API}/Tickets/query", content=nested_filter(MAX_FILTER_DEPTH + 5), headers=HEADERS
    )
    assert deep.status_code == 500
    assert errors(deep)[0].startswith("Invalid query syntax. Filters may be nested at most")
    fine = api.client.post(
        f"{API}/Tickets/query", content=nested_filter(MAX_FILTER_DEPTH - 2), headers=HEADERS
    )
    assert fine.status_code == 200, fine.text


def test_query_filter_nested_5000_levels_is_refused_without_a_traceback(api: Api) -> None:
    response = api.client.post(f"{API}/Tickets/query", content=nested_filter(5000), headers=HEADERS)
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/json")
    assert "nested deeper than" in errors(response)[0]
    still_answers(api)


@pytest.mark.parametrize("path", [f"{API}/Tickets", "/_emulator/faults"])
def test_json_nested_100k_levels_is_refused_in_the_api_error_shape(
    client: TestClient, api: Api, path: str
) -> None:
    body = "[" * 100_000 + "]" * 100_000
    response = client.post(path, content=body, headers=HEADERS)
    assert response.status_code == (400 if path.startswith("/_emulator") else 500)
    assert "nested deeper than" in errors(response)[0]
    still_answers(api)


def test_query_search_parameter_nested_too_deep_is_refused(api: Api) -> None:
    search = '{"filter":[' + "[" * 120 + "]" * 120 + "]}"  # under the 2,048-char URL limit
    response = api.get("/Tickets/query", params={"search": search})
    assert response.status_code == 500
    assert "nested deeper than" in errors(response)[0]


@pytest.mark.parametrize(
    "due", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "1700-01-01T00:00:00Z"]
)
def test_due_date_outside_the_supported_range_is_refused_with_the_sql_server_text(
    api: Api, due: str
) -> None:
    response = api.post(
        "/Tickets",
        {
            "companyID": 101,
            "title": "Far future",
            "status": 1,
            "priority": 2,
            "queueID": 29682833,
            "dueDateTime": due,
        },
    )
    assert response.status_code == 500
    assert errors(response) == [OUT_OF_RANGE]
    query = api.query("Tickets", {"op": "lt", "field": "dueDateTime", "value": due})
    assert query.status_code == 500 and errors(query) == [OUT_OF_RANGE]
    still_answers(api)


def test_year_9999_inside_the_range_is_kept_and_reaches_callouts_and_webhooks(
    client: TestClient, api: Api
) -> None:
    client.post("/_emulator/callouts", json={"url": "https://receiver.test/callout"})
    ticket_id = api.create_ticket(dueDateTime="9999-12-31T23:59:59Z")
    assert api.ticket(ticket_id)["dueDateTime"] == "9999-12-31T23:59:59.000Z"
    assert client.post("/_emulator/hooks/deliver").status_code == 200


def test_out_of_range_numbers_are_refused_as_sql_server_refuses_them(api: Api) -> None:
    base = {"companyID": 101, "title": "x", "status": 1, "priority": 2, "queueID": 29682833}
    too_big = api.post("/Tickets", {**base, "companyID": 2**40})
    assert errors(too_big) == ["Arithmetic overflow error converting expression to data type int."]
    not_a_number = api.post("/Tickets", {**base, "estimatedHours": "NaN"})
    assert not_a_number.status_code == 500
    assert "to data type decimal" in errors(not_a_number)[0]


@pytest.mark.parametrize("segment", ["²", "9" * 5000, "1" * 25])
def test_ids_that_are_not_plain_numbers_are_not_routes(api: Api, segment: str) -> None:
    assert api.get(f"/Tickets/{segment}").status_code == 404


@pytest.mark.parametrize("paging", ["{", '{"pageSize":"abc"}', '{"pageSize":0}', "[1]"])
def test_paging_tokens_we_did_not_write_are_refused(api: Api, paging: str) -> None:
    search = json.dumps({"filter": [{"op": "gte", "field": "id", "value": 0}]})
    response = api.get("/Tickets/query/next", params={"paging": paging, "search": search})
    assert response.status_code == 500
    assert errors(response) == ["Invalid paging parameter."]


# --- bodies --------------------------------------------------------------------------------


async def _asgi(
    app: Any, chunks: list[bytes], headers: list[tuple[bytes, bytes]]
) -> tuple[int, dict[str, Any], int]:
    """Call the app with a streamed body; return status, JSON answer and chunks it read."""
    read = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal read
        read += 1
        if read > len(chunks):
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": chunks[read - 1], "more_body": read < len(chunks)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "scheme": "http",
        "path": f"{API}/Tickets",
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "server": ("127.0.0.1", 8765),
    }
    await app(scope, receive, send)
    return sent[0]["status"], json.loads(sent[1]["body"]), read


def test_a_300_mb_body_is_refused_from_its_content_length_without_being_read() -> None:
    app = create_app(max_body_bytes=1024)
    declared = [(b"content-length", str(300 * 1024 * 1024).encode())]
    status, body, read = asyncio.run(_asgi(app, [b"x" * 1024] * 10, declared))
    assert status == 413
    assert body["errors"][0].startswith("Request body too large")
    assert read == 0


def test_a_streamed_body_is_cut_off_once_it_passes_the_limit() -> None:
    app = create_app(max_body_bytes=1024)
    status, body, read = asyncio.run(_asgi(app, [b"x" * 512] * 10, []))
    assert status == 413 and "at most 1024 bytes" in body["errors"][0]
    assert read == 3


def test_the_default_body_limit_still_takes_a_6_mib_attachment(api: Api) -> None:
    import base64

    data = base64.b64encode(b"\0" * (6 * 1024 * 1024)).decode()
    ticket_id = api.create_ticket()
    response = api.post(
        f"/Tickets/{ticket_id}/Attachments",
        {
            "title": "big.bin",
            "fullPath": "big.bin",
            "attachmentType": "FILE_ATTACHMENT",
            "publish": 1,
            "data": data,
        },
    )
    assert response.status_code == 200, response.text[:200]


# --- URLs given out and called -------------------------------------------------------------


def test_zone_url_ignores_the_host_header(client: TestClient) -> None:
    zone = client.get(
        ZONE, params={"user": DEMO_API_USER}, headers={"Host": "attacker.example"}
    ).json()
    assert zone["url"] == f"{BASE}/ATServicesRest/"
    assert "attacker" not in json.dumps(zone)


def test_zone_url_comes_from_the_configured_public_url(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(public_url="https://sandbox.example:8443/")
    zone = client.get(ZONE, params={"user": DEMO_API_USER}).json()
    assert zone["url"] == "https://sandbox.example:8443/ATServicesRest/"
    assert zone["webUrl"] == "https://sandbox.example:8443/"
    api = Api(client)
    for n in range(3):
        api.create_ticket(title=f"page {n}")
    page = api.query("Tickets", {"op": "gte", "field": "id", "value": 0}, MaxRecords=1).json()
    assert page["pageDetails"]["nextPageUrl"].startswith("https://sandbox.example:8443/")


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://x.example/", "not a url", ""])
def test_public_url_must_be_http(url: str) -> None:
    with pytest.raises(ValueError):
        create_app(public_url=url or "x")


def test_zone_url_over_loopback_is_the_servers_own_address(server_url: str) -> None:
    with httpx.Client(timeout=10) as http:
        zone = http.get(
            f"{server_url}{ZONE}",
            params={"user": DEMO_API_USER},
            headers={"Host": "attacker.example"},
        ).json()
    assert zone["url"] == f"{server_url}/ATServicesRest/"


def test_cli_default_public_url_is_the_listening_address() -> None:
    assert default_public_url("127.0.0.1", 8765) == "http://127.0.0.1:8765"
    assert default_public_url("::1", 8765) == "http://[::1]:8765"
    assert default_public_url("0.0.0.0", 8765) is None  # each connection's own address


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "not a url", "gopher://x.example/", "http://", "https:///x"]
)
def test_callouts_take_http_and_https_urls_only(client: TestClient, api: Api, url: str) -> None:
    response = client.post("/_emulator/callouts", json={"url": url})
    assert response.status_code == 400
    assert errors(response)[0].startswith("url: ")
    assert client.get("/_emulator/callouts").json()["callouts"] == []
    ok = client.post("/_emulator/callouts", json={"url": "http://receiver.test/x"})
    assert ok.status_code == 200


def test_callout_method_name_is_an_xml_name_not_markup(client: TestClient) -> None:
    response = client.post(
        "/_emulator/callouts",
        json={"url": "https://r.test/", "format": "soap", "method_name": "x><evil/"},
    )
    assert response.status_code == 400


@pytest.mark.parametrize("field", ["webhookUrl", "deactivationUrl"])
@pytest.mark.parametrize("url", ["not a url", "file:///etc/passwd", "javascript:alert(1)"])
def test_webhooks_take_http_and_https_urls_only(api: Api, field: str, url: str) -> None:
    body = {
        "name": "Bridge",
        "webhookUrl": "https://receiver.test/hook",
        "deactivationUrl": "https://receiver.test/off",
        "secretKey": "s3cret",
        field: url,
    }
    created = api.post("/TicketWebhooks", body)
    assert created.status_code == 500
    assert errors(created) == [
        f"The value for field {field} is not a valid http or https URL"
        f" ({'contains spaces or control characters' if ' ' in url else 'only http and https URLs are allowed'})."  # noqa: E501
    ]
    good = api.post("/TicketWebhooks", {**body, field: "http://receiver.test/x"})
    assert good.status_code == 200
    changed = api.patch("/TicketWebhooks", {"id": good.json()["itemId"], field: url})
    assert changed.status_code == 500


def test_deliveries_to_non_http_urls_from_a_restored_snapshot_are_refused(
    client: TestClient, api: Api
) -> None:
    snapshot = client.get("/_emulator/snapshot").json()
    snapshot["callouts"] = [{"id": 1, "url": "file:///etc/passwd", "format": "name_value"}]
    assert client.post("/_emulator/restore", json=snapshot).status_code == 200
    api.create_ticket()
    (attempt,) = client.post("/_emulator/hooks/deliver").json()["results"]
    assert attempt["ok"] is False and attempt["error"].startswith("refused: ")


# --- whatever else -------------------------------------------------------------------------


def test_a_bug_answers_500_in_the_api_shape_without_a_traceback(
    make_client: Callable[..., TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    from ticketbridge.emulators.autotask import api as api_module

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise KeyError("internal detail")

    monkeypatch.setattr(api_module, "route", broken)
    client = make_client()
    response = client.get(f"{API}/Companies/0", headers=HEADERS)
    assert response.status_code == 500
    assert errors(response) == ["An unexpected error has occurred. Please try again."]
    assert "internal detail" not in response.text


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=12,
)
TARGETS = [
    ("POST", f"{API}/Tickets"),
    ("PATCH", f"{API}/Tickets"),
    ("POST", f"{API}/Tickets/query"),
    ("POST", f"{API}/Companies/query/count"),
    ("POST", f"{API}/TicketWebhooks"),
    ("POST", "/_emulator/faults"),
    ("POST", "/_emulator/clock"),
    ("PATCH", "/_emulator/limits"),
    ("POST", "/_emulator/callouts"),
    ("POST", "/_emulator/restore"),
    ("PUT", "/_emulator/picklists/Tickets/queueID"),
    ("POST", "/_emulator/udfs/Tickets"),
    ("PATCH", "/_emulator/tickets/7001"),
]


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(target=st.sampled_from(TARGETS), body=json_values)
def test_any_json_body_gets_an_answer_in_the_api_shape(
    client: TestClient, target: tuple[str, str], body: Any
) -> None:
    method, path = target
    response = client.request(method, path, content=json.dumps(body), headers=HEADERS)
    assert response.headers["content-type"].startswith("application/json"), response.text
    if response.status_code >= 400:
        assert isinstance(errors(response), list), response.text
    assert response.status_code != 500 or errors(response) != [
        "An unexpected error has occurred. Please try again."
    ], (target, body)
    # Valid admin changes (a fault, a threshold of 1, an empty snapshot) are undone; what
    # is left must work.
    client.delete("/_emulator/faults")
    client.patch("/_emulator/limits", json={"threshold": 10_000, "reset_counter": True})
    client.post("/_emulator/reset")
    still_answers(Api(client))
