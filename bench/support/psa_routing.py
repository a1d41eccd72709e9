"""Several PSA emulators in-process behind the one transport a product runtime has.

``Runtime.psa_transport`` is a single transport for every connection of every kind, so a
product with an Autotask and a Jira connection needs one that hands each request to the
emulator serving its host: :class:`RoutedTransport`. :class:`Timed` counts the requests to one
emulator and the time spent inside it (the benchmarks subtract it); :class:`AnswerLost` lets the
emulator do the work and then loses its answer, as a connection cut after the PSA committed
(the case a create's reconciliation search exists for).
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import httpx


class RoutedTransport(httpx.BaseTransport):
    """Each request to the transport of its URL's host; an unknown host cannot be reached."""

    def __init__(self, routes: Mapping[str, httpx.BaseTransport]) -> None:
        self.routes = dict(routes)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        target = self.routes.get(request.url.host)
        if target is None:
            raise httpx.ConnectError(f"no emulator serves {request.url.host}", request=request)
        return target.handle_request(request)


class Timed(httpx.BaseTransport):
    """Counts the requests passed on and the seconds spent in the inner transport."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.requests = 0
        self.seconds = 0.0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        start = time.perf_counter()
        try:
            return self.inner.handle_request(request)
        finally:
            self.seconds += time.perf_counter() - start
            self.requests += 1


class AnswerLost(httpx.BaseTransport):
    """Passes every request on; after :meth:`lose_next`, the answer to the next request with
    that method whose path ends so is dropped (a read timeout) once the PSA has acted on it."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self._lose: tuple[str, str] | None = None

    def lose_next(self, method: str, path_end: str) -> None:
        self._lose = (method.upper(), path_end)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        lose = self._lose
        if lose is not None and request.method == lose[0] and request.url.path.endswith(lose[1]):
            self._lose = None
            response.read()
            response.close()
            raise httpx.ReadTimeout("the answer was lost on the way back", request=request)
        return response
