"""Error replies in the shapes the real API uses.

Autotask answers application errors (validation, permissions, bad queries) with HTTP 500 and
``{"errors": ["..."]}``; the ASP.NET pipeline answers routing problems (wrong method, unknown
route) with ``{"Message": "..."}``. Handlers raise :class:`ApiError` and the router renders it.
"""

from __future__ import annotations

from typing import Any

import httpx


class ApiError(Exception):
    """A reply the emulated API gives instead of a success."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body
        self.headers = headers or {}


def app_error(*messages: str, status: int = 500) -> ApiError:
    return ApiError(status, {"errors": list(messages)})


def method_not_allowed(method: str) -> ApiError:
    return ApiError(
        405, {"Message": f"The requested resource does not support http method '{method}'."}
    )


def no_route(url: str) -> ApiError:
    return ApiError(
        404, {"Message": f"No HTTP resource was found that matches the request URI '{url}'."}
    )


NOT_FOUND_TEXT = "No matching records found."
INTERNAL_ERROR_TEXT = "An unexpected error has occurred. Please try again."


def not_found() -> ApiError:
    return app_error(NOT_FOUND_TEXT, status=404)


def unknown_field(field: str, entity: str) -> ApiError:
    return app_error(f"Unable to find {field} in the {entity} Entity")


class DropConnection(Exception):
    """Raised inside the emulator when a fault drops the connection; the ASGI layer turns it
    into a started response and :class:`EmulatedConnectionDrop`."""


class EmulatedConnectionDrop(httpx.ReadTimeout):
    """Raised by the app when a fault drops the connection.

    In-process clients (Starlette's ``TestClient``, ``httpx.ASGITransport``) re-raise app
    exceptions, so the caller sees an ``httpx.ReadTimeout`` exactly as if the socket had gone
    quiet. Over a real server the response has already started when this is raised, so the
    server closes the connection mid-response and the client sees a transport error.
    """
