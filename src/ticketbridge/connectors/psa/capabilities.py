"""What a PSA kind may offer beyond :class:`~ticketbridge.connectors.psa.base.PsaConnector`,
as small protocols and plain values that services hold without knowing the kind.

A kind declares the ones it has in ``connectors/registry.py`` (``PSA_CAPABILITIES``); a service
asks the registry for them by kind name, so it never imports a concrete connector. Each
capability takes the kind's own connector (the one the registry built) as its first argument
and raises only :mod:`ticketbridge.connectors.errors`.

- ``cache``: a zero-argument factory of the per-process cache the runtime holds for the kind
  and hands to each connector it builds (Autotask: zone and field metadata).
- ``governor_key``: the key of a connection's request governor, from its config or stored
  settings (Autotask: the zone lookup host, user name and integration code).
- ``ticket_fields``: :class:`TicketFieldLengths` of the kind's tickets, for composing content.
- ``ticket_url``: the ticket's page in the PSA, or None when the PSA does not say.
- ``roundtrip``: a :class:`RoundTripRemote` (ticket activity, resource names, webhooks).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class TicketFieldLengths:
    """The longest text each ticket field takes; None where the PSA does not say."""

    title: int | None = None
    description: int | None = None
    external_id: int | None = None


@dataclass(frozen=True)
class TicketActivity:
    id: int
    number: str
    status_id: int | None
    status_label: str
    last_activity: datetime | None
    last_activity_resource_id: int | None
    completed_at: datetime | None
    completed_by_resource_id: int | None


@dataclass
class RequestCount:
    """PSA requests sent by one piece of work (queries and pages; cached metadata reads are
    not counted)."""

    requests: int = 0


@dataclass(frozen=True)
class RemoteWebhook:
    id: int
    guid: str | None
    active: bool
    ready: bool


class RoundTripRemote(Protocol):
    """What the round trip (callouts, webhooks, polling) needs from a PSA beyond the protocol.
    ``connector`` is the kind's own connector, as the registry built it."""

    def changed_since(
        self, connector: Any, since: datetime, counter: RequestCount
    ) -> list[TicketActivity]: ...

    def get_activity(
        self, connector: Any, ids: Sequence[int], counter: RequestCount
    ) -> dict[int, TicketActivity]: ...

    def resource_names(
        self, connector: Any, ids: Sequence[int], counter: RequestCount
    ) -> dict[int, str]: ...

    def find_own_resource(
        self, connector: Any, created_ticket_id: int | None, counter: RequestCount
    ) -> int | None: ...

    def register_webhook(
        self,
        connector: Any,
        *,
        name: str,
        webhook_url: str,
        deactivation_url: str,
        secret_key: str,
        excluded_resource_id: int | None,
    ) -> RemoteWebhook: ...

    def get_webhook(self, connector: Any, webhook_id: int) -> RemoteWebhook: ...

    def delete_webhook(self, connector: Any, webhook_id: int) -> None: ...
