"""What the round trip needs from Autotask beyond the PsaConnector protocol: ticket activity
(status, last activity, who completed it), resource names, and TicketWebhooks.

Autotask-only by nature (extension callouts and TicketWebhooks are Autotask's), so these are
functions over an :class:`AutotaskConnector`'s client rather than protocol methods: this module
is the kind's ``roundtrip`` capability (a ``RoundTripRemote``, connectors/psa/capabilities.py),
which services reach through the registry. They raise only :mod:`ticketbridge.connectors.errors`.

Webhooks (reference §7): ``POST TicketWebhooks`` with both URLs and the secret key, then one
``POST TicketWebhooks/{id}/Fields`` per field (``fieldID`` from the picklist of
``TicketWebhookFields/entityInformation/fields``, whose labels are ticket field names), then
``POST TicketWebhooks/{id}/ExcludedResources`` for our own API user so that our writes do not
echo back. Autotask marks the webhook ready once a field is subscribed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from ticketbridge.connectors.errors import ConnectorError, RemoteNotFound
from ticketbridge.connectors.psa.autotask import picklists, query
from ticketbridge.connectors.psa.autotask.connector import AutotaskConnector
from ticketbridge.connectors.psa.capabilities import RemoteWebhook, RequestCount, TicketActivity
from ticketbridge.connectors.psa.values import opt_int, utc_datetime

ACTIVITY_FIELDS = (
    "id",
    "ticketNumber",
    "status",
    "lastActivityDate",
    "lastActivityResourceID",
    "completedDate",
    "completedByResourceID",
)
# The ticket fields a webhook subscribes to, and sends with every event.
WEBHOOK_FIELDS = ("status", "lastActivityDate")
PAGE_SIZE = query.MAX_RECORDS


def _send(connector: AutotaskConnector, counter: RequestCount) -> query.Send:
    def send(method: str, path: str, body: dict[str, Any]) -> Any:
        counter.requests += 1
        return connector.client.call(method, path, body=body, idempotent=True)

    return send


def _status_labels(connector: AutotaskConnector) -> dict[int, str]:
    return {v.id: v.name for v in picklists.picklist(connector.client.fields("Tickets"), "status")}


def _activity(item: dict[str, Any], labels: dict[int, str]) -> TicketActivity:
    status = opt_int(item.get("status"))
    return TicketActivity(
        id=int(item["id"]),
        number=str(item.get("ticketNumber") or ""),
        status_id=status,
        status_label="" if status is None else labels.get(status, str(status)),
        last_activity=utc_datetime(item.get("lastActivityDate")),
        last_activity_resource_id=opt_int(item.get("lastActivityResourceID")),
        completed_at=utc_datetime(item.get("completedDate")),
        completed_by_resource_id=opt_int(item.get("completedByResourceID")),
    )


def changed_since(
    connector: AutotaskConnector, since: datetime, counter: RequestCount
) -> list[TicketActivity]:
    """Tickets whose last activity is after ``since``, in pages of 500 (one request per 500
    changed tickets, whatever the tenant's size)."""
    if since.tzinfo is None:
        raise ValueError("changed_since needs an aware datetime")
    stamp = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    body = query.query_body(
        [query.gt("lastActivityDate", stamp)], include_fields=ACTIVITY_FIELDS, max_records=PAGE_SIZE
    )
    items = list(query.iter_items(_send(connector, counter), "Tickets", body))
    labels = _status_labels(connector) if items else {}
    found = [_activity(item, labels) for item in items]
    # Guard against a remote comparing at coarser precision than ours.
    return [t for t in found if t.last_activity is None or t.last_activity > since]


def get_activity(
    connector: AutotaskConnector, ids: Sequence[int], counter: RequestCount
) -> dict[int, TicketActivity]:
    """Tickets by id (one request per 500 ids); deleted or unknown ids are absent."""
    found: dict[int, TicketActivity] = {}
    send = _send(connector, counter)
    items: list[dict[str, Any]] = []
    for batch in query.batches(int(i) for i in ids):
        body = query.query_body([query.in_("id", batch)], include_fields=ACTIVITY_FIELDS)
        items.extend(query.iter_items(send, "Tickets", body))
    labels = _status_labels(connector) if items else {}
    for item in items:
        activity = _activity(item, labels)
        found[activity.id] = activity
    return found


def resource_names(
    connector: AutotaskConnector, ids: Sequence[int], counter: RequestCount
) -> dict[int, str]:
    """ "First Last" of resources by id (one request per 500); unknown ids are absent."""
    names: dict[int, str] = {}
    send = _send(connector, counter)
    for batch in query.batches(int(i) for i in ids):
        body = query.query_body(
            [query.in_("id", batch)], include_fields=("id", "firstName", "lastName")
        )
        for item in query.iter_items(send, "Resources", body):
            name = " ".join(
                str(item.get(k) or "").strip() for k in ("firstName", "lastName")
            ).strip()
            names[int(item["id"])] = name or f"resource {item['id']}"
    return names


def find_own_resource(
    connector: AutotaskConnector, created_ticket_id: int | None, counter: RequestCount
) -> int | None:
    """Our API user's resource id: by its user name or e-mail address, else as the creator
    of a ticket we created. None when neither tells."""
    username = connector.config.username.strip()
    local = username.split("@")[0]
    send = _send(connector, counter)
    by_name: dict[str, Any] = {
        "op": "or",
        "items": [
            query.eq("email", username),
            query.eq("userName", username),
            query.eq("userName", local),
        ],
    }
    body = query.query_body([by_name], include_fields=("id", "email", "userName"))
    found = list(query.iter_items(send, "Resources", body))
    exact = [i for i in found if str(i.get("email") or "").lower() == username.lower()]
    for item in exact or found:
        return int(item["id"])
    if created_ticket_id is None:
        return None
    body = query.query_body(
        [query.eq("id", int(created_ticket_id))], include_fields=("id", "creatorResourceID")
    )
    for item in query.iter_items(send, "Tickets", body):
        return opt_int(item.get("creatorResourceID"))
    return None


# --- webhooks -----------------------------------------------------------------------------


def _webhook(item: dict[str, Any]) -> RemoteWebhook:
    return RemoteWebhook(
        id=int(item["id"]),
        guid=str(item.get("webhookGUID") or "") or None,
        active=bool(item.get("isActive")),
        ready=bool(item.get("isReady")),
    )


def webhook_field_ids(connector: AutotaskConnector) -> dict[str, int]:
    """Ticket field name (lower case) -> ``fieldID`` for TicketWebhookFields."""
    values = picklists.picklist(connector.client.fields("TicketWebhookFields"), "fieldID")
    return {value.name.strip().lower(): value.id for value in values}


def register_webhook(
    connector: AutotaskConnector,
    *,
    name: str,
    webhook_url: str,
    deactivation_url: str,
    secret_key: str,
    excluded_resource_id: int | None,
) -> RemoteWebhook:
    """Create the ticket webhook, subscribe its fields, exclude our API user; as stored."""
    ids = webhook_field_ids(connector)
    missing = [f for f in WEBHOOK_FIELDS if f.lower() not in ids]
    if missing:
        raise ConnectorError(
            "Autotask offers no webhook field " + ", ".join(missing) + " for tickets."
        )
    client = connector.client
    webhook_id = client.create(
        "TicketWebhooks",
        {
            "name": name[:50],
            "webhookUrl": webhook_url,
            "deactivationUrl": deactivation_url,
            "secretKey": secret_key,
            "isActive": True,
            "isSubscribedToCreateEvents": False,
            "isSubscribedToUpdateEvents": True,
            "isSubscribedToDeleteEvents": True,
            "sendThresholdExceededNotification": False,
        },
    )
    for field_name in WEBHOOK_FIELDS:
        client.create(
            f"TicketWebhooks/{webhook_id}/Fields",
            {
                "webhookID": webhook_id,
                "fieldID": ids[field_name.lower()],
                "isSubscribedField": True,
                "isDisplayAlwaysField": True,
            },
        )
    if excluded_resource_id is not None:
        client.create(
            f"TicketWebhooks/{webhook_id}/ExcludedResources",
            {"webhookID": webhook_id, "resourceID": int(excluded_resource_id)},
        )
    return get_webhook(connector, webhook_id)


def get_webhook(connector: AutotaskConnector, webhook_id: int) -> RemoteWebhook:
    """RemoteNotFound when Autotask no longer has it."""
    return _webhook(connector.client.get_item("TicketWebhooks", int(webhook_id)))


def delete_webhook(connector: AutotaskConnector, webhook_id: int) -> None:
    """Remove the webhook; one already gone is not an error."""
    try:
        connector.client.call("DELETE", f"TicketWebhooks/{int(webhook_id)}", idempotent=True)
    except RemoteNotFound:
        return
