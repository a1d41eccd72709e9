"""What the PSA connectors over HTTP share: the httpx client under their HttpChannel is either
injected (a test's emulator, left open for its owner) or made here from the configured timeout,
without following redirects (a redirect is a wrong host, reported as such), and closed with the
connector."""

from __future__ import annotations

from typing import Self

import httpx


class OwnedHttpClient:
    _http: httpx.Client
    _owns_client: bool

    def _use_client(self, http_client: httpx.Client | None, timeout: float) -> httpx.Client:
        self._owns_client = http_client is None
        self._http = http_client or httpx.Client(timeout=timeout, follow_redirects=False)
        return self._http

    def close(self) -> None:
        if self._owns_client:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
