"""Graph change notifications for a mailbox's folder: the subscription that makes Graph post to
our public URL when mail arrives (learn.microsoft.com, subscription resource and "Change
notifications for Outlook resources", read 2026-12).

- ``POST /subscriptions`` ``{changeType: "created", notificationUrl, lifecycleNotificationUrl,
  resource: "users/{mailbox}/mailFolders('{folder}')/messages", expirationDateTime,
  clientState}``. Before it answers 201, Graph validates each URL: it POSTs
  ``?validationToken=…`` and wants the token back as text/plain within 10 seconds.
- An Outlook message subscription lasts at most 10,080 minutes (the 2016 preview allowed
  4,230); ``PATCH /subscriptions/{id}`` with a new ``expirationDateTime`` renews it.
- ``DELETE /subscriptions/{id}`` ends it; 404 means it had ended already (expired, or removed
  by Graph), which is what the caller wanted.

A notification is only a hint: the delta round stays the truth, so nothing here reads the
notification's resource. ``Prefer: IdType="ImmutableId"`` goes on these calls too, so the ids
in notifications are those the delta round uses.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from ticketbridge.connectors.errors import ConnectorUnavailable, RemoteNotFound
from ticketbridge.connectors.mail.graph import IMMUTABLE_IDS, GraphClient


@dataclass(frozen=True)
class Subscribed:
    remote_id: str
    expires_at: datetime


class GraphSubscriptions(GraphClient):
    """Creates, renews and deletes the subscription of `GraphConfig.mailbox`'s folder."""

    def subscribe(self, url: str, client_state: str, expires_at: datetime) -> Subscribed:
        # Not idempotent: a retried POST could leave a second subscription behind.
        response = self._channel.request(
            "POST",
            f"{self.config.graph_url}/subscriptions",
            json={
                "changeType": "created",
                "notificationUrl": url,
                "lifecycleNotificationUrl": url,
                "resource": self.resource,
                "expirationDateTime": _iso(expires_at),
                "clientState": client_state,
            },
            headers=self._auth(),
        )
        body = _json(response)
        return Subscribed(str(body.get("id") or ""), _when(body, expires_at))

    def renew(self, remote_id: str, expires_at: datetime) -> datetime:
        """The new expiry; RemoteNotFound when Graph no longer has the subscription."""
        response = self._channel.request(
            "PATCH",
            self._item(remote_id),
            json={"expirationDateTime": _iso(expires_at)},
            headers=self._auth(),
            idempotent=True,
        )
        return _when(_json(response), expires_at)

    def unsubscribe(self, remote_id: str) -> None:
        with contextlib.suppress(RemoteNotFound):  # ended already: expired, or removed
            self._channel.request(
                "DELETE", self._item(remote_id), headers=self._auth(), idempotent=True
            )

    @property
    def resource(self) -> str:
        folder = self.config.folder.replace("'", "''")
        return f"users/{self.config.mailbox}/mailFolders('{folder}')/messages"

    def _item(self, remote_id: str) -> str:
        return f"{self.config.graph_url}/subscriptions/{quote(remote_id, safe='')}"

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._tokens()}", "Prefer": IMMUTABLE_IDS}

    def __repr__(self) -> str:
        return f"GraphSubscriptions({self.config.mailbox!r}, folder={self.config.folder!r})"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _json(response: Any) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ConnectorUnavailable("Microsoft Graph answered with something other than JSON.")
    return body


def _when(body: dict[str, Any], asked: datetime) -> datetime:
    """The expiry Graph granted (it may shorten what was asked), else the one asked for."""
    value = body.get("expirationDateTime")
    try:
        granted = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return asked
    return granted if granted.tzinfo is not None else granted.replace(tzinfo=UTC)
