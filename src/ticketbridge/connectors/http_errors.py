"""What an HTTP error answer means: the remote's own messages, its ``Retry-After``, and the
error of :mod:`ticketbridge.connectors.errors` a status maps to when no vendor rule applies.
Pure functions over a response; :class:`~ticketbridge.connectors.http.HttpChannel` calls them."""

from __future__ import annotations

from email.utils import parsedate_to_datetime

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

# How much of a remote message or answer body is kept on an error.
SUMMARY_CHARS = 300


def remote_messages(response: httpx.Response) -> tuple[str, ...]:
    """The error strings a JSON error body carries, in the shapes the APIs we speak use."""
    try:
        body = response.json()
    except ValueError:
        return ()
    found: list[str] = []
    if isinstance(body, dict):
        for key in ("errors", "errorMessages"):
            items = body.get(key)
            if isinstance(items, list):
                for item in items:
                    if isinstance(item, str):
                        found.append(item)
                    elif isinstance(item, dict) and isinstance(item.get("message"), str):
                        found.append(item["message"])
        for key in ("Message", "message"):
            if isinstance(body.get(key), str):
                found.append(body[key])
    return tuple(m.strip()[:SUMMARY_CHARS] for m in found if m and m.strip())


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After header (delta seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


def default_error(
    response: httpx.Response, messages: tuple[str, ...], service: str
) -> ConnectorError:
    """Map an error status to the error tree when no vendor rule applied."""
    status = response.status_code
    detail = f": {messages[0]}" if messages else ""
    if status == 401:
        return ConnectorAuthError(f"{service} refused the credentials (HTTP 401).")
    if status == 403:
        return ConnectorPermissionError(
            f"{service} API user lacks permission for this call (HTTP 403){detail}"
        )
    if status == 404:
        return RemoteNotFound(f"{service} reports that the object does not exist (HTTP 404).")
    if status == 405:
        return ConnectorConfigError(
            f"{service} does not accept this request method at this address (HTTP 405); "
            "check the API host."
        )
    if status in (408, 429) or status >= 500:
        what = "is throttling requests" if status == 429 else "is unavailable"
        return ConnectorUnavailable(f"{service} {what} (HTTP {status}).")
    if 300 <= status < 400:
        return ConnectorConfigError(
            f"{service} answered with a redirect (HTTP {status}); check the API host."
        )
    return RemoteRejected(f"{service} rejected the request (HTTP {status}){detail}")
