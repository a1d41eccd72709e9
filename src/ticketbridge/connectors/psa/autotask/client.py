"""Autotask REST transport: header authentication, zones, and Autotask's error dialect.

Autotask answers almost every business error with HTTP 500 and ``{"errors": [...]}``
(reference §6), including missing rights ("does not have the adequate permissions",
django-autotask, Aug 2021) and missing records on delete ("No matching records found").
:func:`autotask_error` reads those texts so callers get the right class from the tree.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import httpx

from ticketbridge.connectors.errors import (
    ConnectorAuthError,
    ConnectorConfigError,
    ConnectorError,
    ConnectorPermissionError,
    ConnectorUnavailable,
    RemoteNotFound,
    RemoteRejected,
)
from ticketbridge.connectors.governor import Governor
from ticketbridge.connectors.http import HttpChannel
from ticketbridge.connectors.psa.autotask import query
from ticketbridge.connectors.psa.autotask.picklists import index_fields
from ticketbridge.connectors.psa.autotask.zone import ZoneInfo, discover_zone
from ticketbridge.connectors.ttl_cache import TtlCache
from ticketbridge.core.psa_governor import Priority

SERVICE = "Autotask"
ZONE_TTL_SECONDS = 12 * 3600
FIELDS_TTL_SECONDS = 24 * 3600

_NOT_FOUND = ("no matching records found",)
_PERMISSION = ("adequate permission", "required permission", "not have permission")
_THROTTLED = ("thread threshold", "itgenatr005", "threshold exceeded")
# Autotask's catch-all text for a fault on its side: worth another try, not a rejection.
_TRANSIENT = ("an unexpected error has occurred", "please try again")
BUDGET_ENDPOINT = "ThresholdInformation"
# Not thread-limited (reference §1, DOCS "API thread limiting"), unauthenticated, and on the
# lookup host: not governed.
_UNGOVERNED = frozenset({"zoneinformation"})
_THRESHOLD_FIELDS = (
    "externalRequestThreshold",
    "requestThresholdTimeframe",
    "currentTimeframeRequestCount",
)

log = logging.getLogger(__name__)


def autotask_error(response: httpx.Response, messages: tuple[str, ...]) -> ConnectorError | None:
    """Classify Autotask's error answers; None leaves the status-based default in charge."""
    status = response.status_code
    text = " ".join(messages).casefold()
    first = messages[0] if messages else ""
    if "zone information could not be determined" in text:
        return ConnectorAuthError("Autotask does not know this API user name.")
    if "integrationcode" in text.replace(" ", ""):
        return ConnectorAuthError(
            "Autotask refused the API tracking identifier (integration code)."
        )
    if any(marker in text for marker in _THROTTLED):
        # Refused before processing (reference §6): a create answered so wrote nothing.
        return ConnectorUnavailable(
            "Autotask is limiting this integration's concurrent requests.", unprocessed=True
        )
    if status != 500 or not messages:
        return None
    if any(marker in text for marker in _TRANSIENT):
        return ConnectorUnavailable(f"Autotask had an internal error: {first}")
    if any(marker in text for marker in _NOT_FOUND):
        return RemoteNotFound(f"Autotask: {first}")
    if any(marker in text for marker in _PERMISSION):
        return ConnectorPermissionError(f"The Autotask API user lacks permission: {first}")
    return RemoteRejected(f"Autotask rejected the request: {first}")


def endpoint_of(url: str) -> str | None:
    """The object endpoint a request counts against for the thread limit: the first path
    segment after ``V1.0/``, lower-cased (``Tickets/query``, ``Tickets/7/Notes`` and a next-page
    URL all count as ``tickets``). Whether Autotask counts child paths such as
    ``Tickets/{id}/Notes`` under their parent is not documented (§6); counting them under the
    parent can only keep us further below the limit, never push us over it. None for URLs
    outside ``V1.0`` (the version lookup)."""
    path = httpx.URL(url).path
    marker = path.lower().find("/v1.0/")
    if marker < 0:
        return None
    segment = path[marker + len("/v1.0/") :].split("/", 1)[0]
    return segment.lower() or None


class AutotaskGate:
    """Holds a slot of the connection's :class:`Governor` around each attempt (HttpChannel's
    gate). ThresholdInformation has its own slots like any endpoint (the emulator and n8n
    treat it so) but skips the budget check: reading the budget is what lifts a hold."""

    def __init__(self, governor: Governor, priority: Priority) -> None:
        self.governor = governor
        self.priority = priority

    def hold(self, method: str, url: str, *, wait: float) -> AbstractContextManager[object]:
        endpoint = endpoint_of(url)
        if endpoint is None or endpoint in _UNGOVERNED:
            return nullcontext()
        budgeted = endpoint != BUDGET_ENDPOINT.lower()
        return self.governor.slot(endpoint, self.priority, wait=wait, budgeted=budgeted)


def _threshold(data: Any) -> tuple[int, int, int] | None:
    """(limit, window minutes, used) from a ThresholdInformation answer (§6), if well formed."""
    if not isinstance(data, dict):
        return None
    found: list[int] = []
    for name in _THRESHOLD_FIELDS:
        value = data.get(name)
        if not isinstance(value, int) or isinstance(value, bool):
            return None
        found.append(value)
    return found[0], found[1], found[2]


@dataclass
class AutotaskCache:
    """Zone and field metadata, shareable between connector instances of one process.

    Keyed by (lookup host, user name), so tenants never see each other's entries.
    """

    zones: TtlCache[tuple[str, str], ZoneInfo] = field(
        default_factory=lambda: TtlCache(ZONE_TTL_SECONDS)
    )
    fields: TtlCache[tuple[str, str, str], dict[str, dict[str, Any]]] = field(
        default_factory=lambda: TtlCache(FIELDS_TTL_SECONDS)
    )


class AutotaskClient:
    def __init__(
        self,
        channel: HttpChannel,
        *,
        lookup_host: str,
        username: str,
        secret: str,
        integration_code: str,
        cache: AutotaskCache,
        gate: AutotaskGate | None = None,
    ) -> None:
        self.channel = channel
        self.gate = gate
        self.lookup_host = lookup_host
        self.username = username
        self._secret = secret
        self.integration_code = integration_code
        self.cache = cache
        self._zone_key = (lookup_host, username)

    # --- zone ------------------------------------------------------------------------------

    def zone(self, *, refresh: bool = False) -> tuple[ZoneInfo, bool]:
        """The zone, and whether it was discovered just now."""
        if not refresh:
            cached = self.cache.zones.get(self._zone_key)
            if cached is not None:
                return cached, False
        zone = discover_zone(self.channel, self.lookup_host, self.username)
        self.cache.zones.put(self._zone_key, zone)
        return zone, True

    # --- requests --------------------------------------------------------------------------

    def call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        idempotent: bool | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Send to ``path`` (relative to V1.0, or an absolute next-page URL); decoded JSON back.

        A 401 on a zone taken from the cache rediscovers the zone once and repeats the request:
        the tenant may have moved. A 401 is a refusal, so repeating even a create is safe.
        ``timeout`` overrides the client's timeout for this request.
        """
        zone, fresh = self.zone()
        self._read_budget(zone)
        try:
            return self._send(zone, method, path, body, idempotent, timeout)
        except ConnectorAuthError as exc:
            if fresh or exc.status_code != 401 or isinstance(exc, ConnectorPermissionError):
                raise
        new_zone, _ = self.zone(refresh=True)
        if path.startswith(("http://", "https://")):
            # A next-page URL lives on the old zone host; keep its path and query.
            old_root = zone.url.rstrip("/")
            if path.lower().startswith(old_root.lower()):
                path = new_zone.url.rstrip("/") + path[len(old_root) :]
        return self._send(new_zone, method, path, body, idempotent, timeout)

    def _read_budget(self, zone: ZoneInfo) -> None:
        """Read ``ThresholdInformation`` when the governor's rules say so (every 100 of our
        requests or 5 minutes). A failed read never fails the request it preceded."""
        if self.gate is None or not self.gate.governor.claim_read(self.gate.priority):
            return
        governor = self.gate.governor
        try:
            figures = _threshold(self._send(zone, "GET", BUDGET_ENDPOINT, None, True, None))
        except ConnectorError as exc:
            log.warning("Autotask ThresholdInformation could not be read: %s", exc.message)
            figures = None
        except BaseException:
            governor.read_failed()  # never leave the claim taken, or no one reads again
            raise
        if figures is None:
            governor.read_failed()
        else:
            limit, window, used = figures
            governor.note_threshold(limit=limit, window_minutes=window, used=used)

    def _send(
        self,
        zone: ZoneInfo,
        method: str,
        path: str,
        body: Any,
        idempotent: bool | None,
        timeout: float | None,
    ) -> Any:
        if path.startswith(("http://", "https://")):
            # Next-page URLs come from the remote; never send credentials to another host.
            if httpx.URL(path).host != zone.host:
                raise ConnectorConfigError(
                    "Autotask returned a paging link to another host; refusing to follow it."
                )
            url = path
        else:
            url = f"{zone.api_base}/{path.lstrip('/')}"
        response = self.channel.request(
            method, url, json=body, headers=self._headers(), idempotent=idempotent, timeout=timeout
        )
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise ConnectorUnavailable(
                "Autotask answered with something that is not JSON.",
                status_code=response.status_code,
                request=f"{method} {url.split('?', 1)[0]}",
            ) from exc

    def _headers(self) -> dict[str, str]:
        return {
            "ApiIntegrationCode": self.integration_code,
            "UserName": self.username,
            "Secret": self._secret,
            "Accept": "application/json",
        }

    # --- entity helpers --------------------------------------------------------------------

    def get_item(self, entity: str, item_id: int) -> dict[str, Any]:
        """``GET {Entity}/{id}``; both a 404 and ``{"item": null}`` mean not found (§5.7)."""
        data = self.call("GET", f"{entity}/{int(item_id)}")
        item = data.get("item") if isinstance(data, dict) else None
        if not isinstance(item, dict):
            raise RemoteNotFound(f"Autotask has no {entity} record {item_id}.", status_code=200)
        return item

    def query_all(
        self,
        entity: str,
        filters: Sequence[query.Filter],
        *,
        include_fields: Sequence[str] | None = None,
        page_size: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        body = query.query_body(filters, include_fields=include_fields, max_records=page_size)
        return query.iter_items(self._query_send, entity, body)

    def query_page(
        self,
        entity: str,
        filters: Sequence[query.Filter],
        *,
        max_records: int,
        include_fields: Sequence[str] | None = None,
    ) -> tuple[list[dict[str, Any]], bool]:
        """One page of at most ``max_records`` items, and whether more exist."""
        body = query.query_body(filters, include_fields=include_fields, max_records=max_records)
        items, next_url = query.first_page(self._query_send, entity, body)
        return items, next_url is not None

    def query_by_ids(
        self, entity: str, ids: Sequence[int], *, include_fields: Sequence[str] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Items whose id is in ``ids``: one request per 500 ids."""
        for batch in query.batches(int(i) for i in ids):
            yield from self.query_all(
                entity, [query.in_("id", batch)], include_fields=include_fields
            )

    def count(self, entity: str, filters: Sequence[query.Filter]) -> int:
        data = self.call(
            "POST", f"{entity}/query/count", body=query.query_body(filters), idempotent=True
        )
        value = data.get("queryCount") if isinstance(data, dict) else None
        if not isinstance(value, int):
            raise ConnectorUnavailable("Autotask gave no count.")
        return value

    def create(self, path: str, body: dict[str, Any], *, timeout: float | None = None) -> int:
        """POST a new record (never retried blindly); the new id."""
        clean = {k: v for k, v in body.items() if v is not None}  # nulls can fail creates (§5.0)
        return self._item_id(self.call("POST", path, body=clean, idempotent=False, timeout=timeout))

    def update(self, entity: str, body: dict[str, Any]) -> int:
        # Our updates set absolute values, so repeating one cannot change the outcome.
        return self._item_id(self.call("PATCH", entity, body=body, idempotent=True))

    def fields(self, entity: str, *, refresh: bool = False) -> dict[str, dict[str, Any]]:
        """Field metadata by lower-cased name, from cache unless ``refresh``."""
        key = (self.lookup_host, self.username, entity.lower())
        if not refresh:
            cached = self.cache.fields.get(key)
            if cached is not None:
                return cached
        fields = index_fields(self.call("GET", f"{entity}/entityInformation/fields"))
        self.cache.fields.put(key, fields)
        return fields

    def _query_send(self, method: str, path: str, body: dict[str, Any]) -> Any:
        return self.call(method, path, body=body, idempotent=True)

    @staticmethod
    def _item_id(data: Any) -> int:
        item_id = data.get("itemId") if isinstance(data, dict) else None
        if not isinstance(item_id, int):
            raise ConnectorUnavailable("Autotask did not return the record id.")
        return item_id
