"""Secrets kept out of logs and errors: every request summary, API log line and remote message
:mod:`ticketbridge.connectors.http` keeps passes through a :class:`Redactor` first."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

# Headers that carry credentials in the APIs we talk to; compared case-insensitively.
SECRET_HEADERS = frozenset(
    {"username", "secret", "apiintegrationcode", "authorization", "cookie", "x-api-key"}
)
REDACTED = "***"


class Redactor:
    """Masks known secret values and credential headers before anything is logged or kept."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        # Short values would mask ordinary words; real secrets are longer than this.
        self._values = sorted({v for v in values if v and len(v) >= 4}, key=len, reverse=True)

    def text(self, value: str) -> str:
        for secret in self._values:
            value = value.replace(secret, REDACTED)
        return value

    def headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        return {
            k: (REDACTED if k.lower() in SECRET_HEADERS else self.text(v))
            for k, v in headers.items()
        }
