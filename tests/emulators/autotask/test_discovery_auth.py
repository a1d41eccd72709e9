"""Checklist items 1-2: version and zone discovery, header authentication, security levels."""

from __future__ import annotations

from starlette.testclient import TestClient

from ticketbridge.emulators.autotask import (
    DEMO_API_USER,
    DEMO_INTEGRATION_CODE,
    LIMITED_API_SECRET,
    LIMITED_API_USER,
)

from .conftest import API, BASE, HEADERS, Api, errors


def test_version_information_needs_no_auth(client: TestClient) -> None:
    response = client.get("/atservicesrest/versioninformation")
    assert response.status_code == 200
    assert response.json() == {"apiVersions": ["1.0"]}


def test_zone_url_points_back_at_the_emulator(client: TestClient) -> None:
    response = client.get(f"{API}/zoneInformation", params={"user": DEMO_API_USER})
    assert response.status_code == 200
    zone = response.json()
    assert set(zone) == {"zoneName", "url", "webUrl", "ci"}
    assert zone["url"] == f"{BASE}/ATServicesRest/"
    assert zone["webUrl"].startswith(BASE)
    follow = client.get(zone["url"] + "V1.0/Companies/0", headers=HEADERS)
    assert follow.json()["item"]["id"] == 0


def test_zone_lookup_of_unknown_or_blank_user_is_the_real_500(client: TestClient) -> None:
    for user in ("nobody@example.com", ""):
        response = client.get(f"{API}/ZoneInformation", params={"user": user})
        assert response.status_code == 500
        assert response.json() == {"errors": ["Zone information could not be determined"]}


def test_path_segments_are_case_insensitive(client: TestClient) -> None:
    response = client.get("/ATServicesRest/V1.0/companies/0", headers=HEADERS)
    assert response.status_code == 200


def test_wrong_secret_is_401(client: TestClient) -> None:
    response = client.get(f"{API}/Companies/0", headers={**HEADERS, "Secret": "nope"})
    assert response.status_code == 401
    assert "errors" in response.json()


def test_unknown_user_and_bad_integration_code_are_500(client: TestClient) -> None:
    unknown = client.get(f"{API}/Companies/0", headers={**HEADERS, "UserName": "x@y.z"})
    assert unknown.status_code == 500
    assert errors(unknown)
    bad_code = client.get(f"{API}/Companies/0", headers={**HEADERS, "ApiIntegrationCode": "X"})
    assert bad_code.status_code == 500
    assert "IntegrationCode is invalid" in errors(bad_code)[0]


def test_header_names_are_case_insensitive(client: TestClient) -> None:
    headers = {
        "APIIntegrationcode": DEMO_INTEGRATION_CODE,
        "username": DEMO_API_USER,
        "SECRET": HEADERS["Secret"],
    }
    assert client.get(f"{API}/Companies/0", headers=headers).status_code == 200


def test_security_level_denial_is_a_500_with_the_permission_text(client: TestClient) -> None:
    limited = Api(client, {**HEADERS, "UserName": LIMITED_API_USER, "Secret": LIMITED_API_SECRET})
    response = limited.post(
        "/Companies", {"companyName": "X", "companyType": 1, "phone": "1", "ownerResourceID": 31}
    )
    assert response.status_code == 500
    assert "does not have the adequate permissions" in errors(response)[0]
    query = limited.query("TimeEntries", {"op": "gte", "field": "id", "value": 0})
    assert query.status_code == 500
    info = limited.get("/Companies/entityInformation").json()["info"]
    assert info["userAccessForCreate"] == "None"
    assert info["userAccessForQuery"] == "All"
    assert limited.get("/Companies/0").status_code == 200


def test_api_users_are_configurable(make_client: object) -> None:
    client = make_client(
        api_users=[
            {
                "username": "u@x.example",
                "secret": "s",  # type: ignore[operator]
                "integration_code": "C",
            }
        ]
    )
    ok = client.get(
        f"{API}/Companies/0",
        headers={"UserName": "u@x.example", "Secret": "s", "ApiIntegrationCode": "C"},
    )
    assert ok.status_code == 200
    assert client.get(f"{API}/Companies/0", headers=HEADERS).status_code == 500


def test_impersonation_of_unknown_resource_is_refused(api: Api) -> None:
    api.headers["ImpersonationResourceId"] = "999999"
    response = api.post(
        "/Tickets", {"companyID": 101, "title": "t", "status": 1, "priority": 2, "queueID": 5}
    )
    assert response.status_code == 500
    assert "adequate permissions" in errors(response)[0]


def test_impersonated_writes_are_attributed_to_the_resource(api: Api) -> None:
    api.headers["ImpersonationResourceId"] = "31"
    ticket_id = api.create_ticket()
    ticket = api.ticket(ticket_id)
    assert ticket["creatorResourceID"] == 31
    assert ticket["impersonatorCreatorResourceID"] == 31


def _resources_named(client: TestClient, username: str, headers: dict[str, str]) -> list[int]:
    search = {"filter": [{"op": "eq", "field": "userName", "value": username}]}
    answer = client.post(f"{API}/Resources/query", json=search, headers=headers)
    assert answer.status_code == 200, answer.text
    return [item["id"] for item in answer.json()["items"]]


def test_an_api_users_resource_carries_its_user_name(client: TestClient) -> None:
    # How a client finds its own resource (the webhook's excluded resource, say).
    assert _resources_named(client, DEMO_API_USER, HEADERS) == [29]
    assert _resources_named(client, LIMITED_API_USER, HEADERS) == [30]
    by_mail = {"filter": [{"op": "eq", "field": "email", "value": DEMO_API_USER}]}
    answer = client.post(f"{API}/Resources/query", json=by_mail, headers=HEADERS)
    assert [item["id"] for item in answer.json()["items"]] == [29]


def test_a_configured_api_user_gets_its_resource_named_after_it(make_client: object) -> None:
    client = make_client(
        api_users=[
            {
                "username": "bridge@msp.example",
                "secret": "s",  # type: ignore[operator]
                "integration_code": "C",
                "resource_id": 31,
            }
        ]
    )
    headers = {"UserName": "bridge@msp.example", "Secret": "s", "ApiIntegrationCode": "C"}
    assert _resources_named(client, "bridge@msp.example", headers) == [31]
