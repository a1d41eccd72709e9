"""Zone discovery: where we ask, caching, and the one rediscovery after a 401."""

from __future__ import annotations

import httpx
import pytest
from pydantic import ValidationError

from tests.connectors.psa.autotask.double import (
    CODE,
    SECRET,
    USER,
    ApiDouble,
    errors,
    make_connector,
)
from ticketbridge.connectors.errors import ConnectorAuthError, ConnectorConfigError
from ticketbridge.connectors.psa.autotask.client import AutotaskCache
from ticketbridge.connectors.psa.autotask.connector import AutotaskConfig
from ticketbridge.connectors.ttl_cache import TtlCache

COUNT = httpx.Response(200, json={"queryCount": 3})


def zone_lookups(api: ApiDouble) -> list[httpx.Request]:
    return [r for r in api.requests if r.url.path.lower().endswith("/zoneinformation")]


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"environment": "production"}, "https://webservices.autotask.net/atservicesrest/v1.0"),
        ({"environment": "sandbox"}, "https://webservices2.autotask.net/atservicesrest/v1.0"),
        (
            {"environment": "custom", "api_host": "http://127.0.0.1:8081/ATServicesRest/"},
            "http://127.0.0.1:8081/atservicesrest/v1.0",
        ),
    ],
)
def test_zone_is_looked_up_on_the_environments_host_without_credentials(
    settings: dict[str, str], expected: str
) -> None:
    api = ApiDouble()
    api.on("POST", r".*/V1.0/TimeEntries/query/count", COUNT)

    make_connector(api, **settings).count_time_entries(7)

    lookup = zone_lookups(api)[0]
    assert str(lookup.url) == f"{expected}/zoneInformation?user=api.user%40example.com"
    assert "Secret" not in lookup.headers and "ApiIntegrationCode" not in lookup.headers
    data_call = api.requests[1]
    assert str(data_call.url).startswith("https://webservices14.autotask.net/ATServicesRest/V1.0/")
    assert data_call.headers["Secret"] == SECRET
    assert data_call.headers["ApiIntegrationCode"] == CODE
    assert data_call.headers["UserName"] == USER


def test_zone_is_discovered_once_and_reused() -> None:
    api = ApiDouble()
    api.on("POST", r".*/TimeEntries/query/count", COUNT)
    connector = make_connector(api)

    for ticket_id in range(3):
        connector.count_time_entries(ticket_id)

    assert len(zone_lookups(api)) == 1 and len(api.requests) == 4


def test_a_shared_cache_spares_new_connectors_the_lookup() -> None:
    api = ApiDouble()
    api.on("POST", r".*/TimeEntries/query/count", COUNT)
    cache = AutotaskCache()

    make_connector(api, cache=cache).count_time_entries(1)
    make_connector(api, cache=cache).count_time_entries(1)

    assert len(zone_lookups(api)) == 1


def test_401_on_a_cached_zone_rediscovers_once_and_repeats_the_request() -> None:
    api = ApiDouble()
    api.on("POST", r"https://webservices14.*/TimeEntries/query/count", COUNT, errors(401, "x"))
    api.on("POST", r"https://webservices19.*/TimeEntries/query/count", COUNT)
    connector = make_connector(api)
    connector.count_time_entries(1)
    api.zone_url = "https://webservices19.autotask.net/ATServicesRest/"  # the tenant moved

    assert connector.count_time_entries(1) == 3

    assert len(zone_lookups(api)) == 2
    assert api.requests[-1].url.host == "webservices19.autotask.net"


def test_a_second_401_is_an_auth_error_after_exactly_one_rediscovery() -> None:
    api = ApiDouble()
    api.on("POST", r".*/TimeEntries/query/count", COUNT, errors(401, "Authentication failed"))
    connector = make_connector(api)
    connector.count_time_entries(1)

    with pytest.raises(ConnectorAuthError) as caught:
        connector.count_time_entries(1)

    assert caught.value.status_code == 401
    assert len(zone_lookups(api)) == 2 and len(api.requests) == 5


def test_401_right_after_discovery_is_not_followed_by_another_lookup() -> None:
    api = ApiDouble()
    api.on("POST", r".*/TimeEntries/query/count", errors(401, "Authentication failed"))

    with pytest.raises(ConnectorAuthError):
        make_connector(api).count_time_entries(1)

    assert len(zone_lookups(api)) == 1


def test_unknown_user_at_zone_lookup_is_an_auth_error() -> None:
    api = ApiDouble()
    api.on("GET", r".*/zoneInformation", errors(500, "Zone information could not be determined"))

    with pytest.raises(ConnectorAuthError) as caught:
        make_connector(api).count_time_entries(1)

    assert "user name" in caught.value.message


def test_zone_lookup_on_a_host_without_the_api_is_a_config_error() -> None:
    api = ApiDouble()
    api.on("GET", r".*/zoneInformation", httpx.Response(404, text="Not Found"))

    with pytest.raises(ConnectorConfigError):
        make_connector(api).count_time_entries(1)


def test_zone_answer_without_url_is_a_config_error() -> None:
    api = ApiDouble()
    api.on("GET", r".*/zoneInformation", httpx.Response(200, json={"zoneName": "x"}))

    with pytest.raises(ConnectorConfigError):
        make_connector(api).count_time_entries(1)


def test_cached_entries_expire_by_the_injected_clock() -> None:
    now = [0.0]
    cache: TtlCache[str, int] = TtlCache(10, clock=lambda: now[0])
    cache.put("zone", 1)
    now[0] = 10.0
    assert cache.get("zone") == 1
    now[0] = 10.5
    assert cache.get("zone") is None


@pytest.mark.parametrize(
    "settings",
    [
        {"environment": "custom"},
        {"environment": "custom", "api_host": "emulator.local"},
        {"environment": "moon"},
        {"secret": "  "},
        {"username": ""},
        {"logging_level": "verbose"},
    ],
)
def test_invalid_config_is_refused(settings: dict[str, str]) -> None:
    base = {"username": USER, "secret": SECRET, "integration_code": CODE}
    with pytest.raises(ValidationError):
        AutotaskConfig(**(base | settings))


def test_config_never_shows_the_secret() -> None:
    config = AutotaskConfig(username=USER, secret=SECRET, integration_code=CODE)

    assert SECRET not in repr(config) and SECRET not in config.model_dump_json()
