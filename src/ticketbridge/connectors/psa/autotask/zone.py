"""Zone discovery: which Autotask host serves this API user.

Autotask spreads tenants over zone hosts (webservices3, 14, 19, ...). Any of them answers
``GET /atservicesrest/v1.0/zoneInformation?user=<name>`` without authentication with the zone's
REST base URL; an unknown user gets HTTP 500 "Zone information could not be determined"
(reference §1). Tenants can move zones, so a 401 on a cached zone triggers one rediscovery
(done by the client).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import httpx

from ticketbridge.connectors.errors import ConnectorConfigError, ConnectorError
from ticketbridge.connectors.http import HttpChannel

Environment = Literal["production", "sandbox", "custom"]

# Where we ask. Production asks the general host; "sandbox" asks the pre-release host. Autotask
# publishes no dedicated sandbox host: a sandbox is a separate database whose API users are
# routed by zoneInformation like any other (reference §1, UNCERTAIN), so either host works for
# either kind of tenant and the choice only matters when one of them is down.
LOOKUP_HOSTS: dict[str, str] = {
    "production": "https://webservices.autotask.net",
    "sandbox": "https://webservices2.autotask.net",
}
ZONE_PATH = "/atservicesrest/v1.0/zoneInformation"


@dataclass(frozen=True)
class ZoneInfo:
    name: str
    url: str  # the zone's REST root, e.g. https://webservices14.autotask.net/ATServicesRest/
    web_url: str | None = None

    @property
    def api_base(self) -> str:
        """The versioned root every entity path hangs from."""
        return self.url.rstrip("/") + "/V1.0"

    @property
    def host(self) -> str:
        return httpx.URL(self.url).host


def lookup_host(environment: Environment, api_host: str | None) -> str:
    if environment == "custom":
        if not api_host:
            raise ConnectorConfigError("The custom Autotask environment needs an API host.")
        host = api_host.strip().rstrip("/")
        # Accept a pasted REST root as well as a bare host.
        lowered = host.lower()
        for suffix in ("/v1.0", "/atservicesrest"):
            if lowered.endswith(suffix):
                host, lowered = host[: -len(suffix)], lowered[: -len(suffix)]
        return host
    return LOOKUP_HOSTS[environment]


def discover_zone(channel: HttpChannel, host: str, username: str) -> ZoneInfo:
    """Ask ``host`` which zone serves ``username``; no credentials are sent."""
    try:
        response = channel.request("GET", host + ZONE_PATH, params={"user": username})
    except ConnectorError as exc:
        if exc.status_code == 404:
            raise ConnectorConfigError(
                "The Autotask zone lookup address was not found (HTTP 404); check the API host.",
                status_code=404,
                request=exc.request,
                response=exc.response,
            ) from exc
        raise
    try:
        data = response.json()
    except ValueError:
        data = None
    url = data.get("url") if isinstance(data, dict) else None
    if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
        raise ConnectorConfigError(
            "The Autotask zone lookup gave no usable API address; check the API host.",
            status_code=response.status_code,
        )
    assert isinstance(data, dict)
    web_url = data.get("webUrl")
    return ZoneInfo(
        name=str(data.get("zoneName") or ""),
        url=url if url.endswith("/") else url + "/",
        web_url=web_url if isinstance(web_url, str) and web_url else None,
    )
