"""AutotaskConnector: the PsaConnector protocol over the Autotask REST API (v1.0).

Written from docs/reference notes only (see docs/connector-autotask.md for every decision and
its source); it shares no code with the Autotask emulator it is tested against.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationInfo, field_validator

from ticketbridge.connectors.errors import (
    ConnectorError,
    RemoteNotFound,
    RemoteRejected,
)
from ticketbridge.connectors.governor import Governor
from ticketbridge.connectors.http import ApiLogLevel, HttpChannel, RetryPolicy
from ticketbridge.connectors.psa.autotask import checks, people, picklists, query, udfs
from ticketbridge.connectors.psa.autotask.client import (
    SERVICE,
    AutotaskCache,
    AutotaskClient,
    AutotaskGate,
    autotask_error,
)
from ticketbridge.connectors.psa.autotask.tickets import (
    COMPANY_FIELDS,
    TICKET_FIELDS,
    as_made,
    remote_company,
    remote_ticket,
)
from ticketbridge.connectors.psa.autotask.zone import lookup_host
from ticketbridge.connectors.psa.base import (
    CheckResult,
    CompanyPage,
    ReferenceData,
    RemoteCompany,
    RemoteConfigurationItem,
    RemoteTicket,
    TicketDraft,
)
from ticketbridge.connectors.psa.http_base import OwnedHttpClient
from ticketbridge.connectors.psa.people import outcome
from ticketbridge.connectors.psa.values import opt_int
from ticketbridge.connectors.redaction import Redactor
from ticketbridge.core.psa_governor import Priority
from ticketbridge.core.sync.batching import chunked

NOTE_TITLE_LENGTH = 250
DEFAULT_NOTE_LENGTH = 3200  # django-autotask's observed limit, used when metadata has none


class AutotaskConfig(BaseModel):
    """Per-instance settings; stored as JSON with the secret encrypted at rest."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    environment: Literal["production", "sandbox", "custom"] = "production"
    api_host: str | None = Field(
        default=None, description="Zone lookup host; custom only", validate_default=True
    )
    username: str = Field(min_length=1, max_length=200)
    secret: SecretStr
    integration_code: str = Field(min_length=1, max_length=100)
    logging_level: ApiLogLevel = "off"
    timeout_seconds: float = Field(default=30.0, gt=0, le=300)
    # A create may take Autotask longer than a read (workflow rules run), and a timeout on a
    # create leaves its outcome unknown; a create never gets less than timeout_seconds.
    create_timeout_seconds: float = Field(default=60.0, gt=0, le=600)

    @field_validator("secret")
    @classmethod
    def _secret_not_empty(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("the API secret is required")
        return value

    @field_validator("api_host")
    @classmethod
    def _absolute_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        if not value:
            if info.data.get("environment") == "custom":
                raise ValueError("the custom environment needs an API host")
            return None
        url = httpx.URL(value)
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError("the API host must be an absolute http(s) URL")
        return value

    @classmethod
    def secret_destination(cls, values: Mapping[str, Any]) -> dict[str, object]:
        """Where the secret goes and whose it is: it travels to the zone host that the lookup
        host names for the username, so a change of the environment, of the API host (in the
        custom environment; the others ignore it) or of the username can send it to another
        server. The tracking identifier only names the integrating software."""
        environment = values.get("environment") or "production"
        return {
            "environment": environment,
            "api_host": values.get("api_host") if environment == "custom" else None,
            "username": values.get("username") or "",
        }


class AutotaskConnector(OwnedHttpClient):
    kind = "autotask"
    Config = AutotaskConfig

    def __init__(
        self,
        config: AutotaskConfig,
        *,
        http_client: httpx.Client | None = None,
        cache: AutotaskCache | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        governor: Governor | None = None,
        priority: Priority = Priority.BACKGROUND,
    ) -> None:
        """``governor``: the connection's request governor, shared by every connector of the
        process (without one, nothing limits concurrency or watches the hour's budget);
        ``priority``: where this connector's requests queue."""
        self.config = config
        self._use_client(http_client, config.timeout_seconds)
        secret = config.secret.get_secret_value()
        gate = AutotaskGate(governor, priority) if governor is not None else None
        self.channel = HttpChannel(
            self._http,
            service=SERVICE,
            retry=retry or RetryPolicy(),
            sleep=sleep,
            clock=clock,
            rng=rng,
            log_level=config.logging_level,
            redactor=Redactor([secret, config.integration_code, config.username]),
            error_hook=autotask_error,
            gate=gate,
            # One Autotask connection per installation: its name is its kind.
            metric_labels=(self.kind, self.kind),
        )
        self.clock = clock
        self.client = AutotaskClient(
            self.channel,
            lookup_host=lookup_host(config.environment, config.api_host),
            username=config.username,
            secret=secret,
            integration_code=config.integration_code,
            cache=cache or AutotaskCache(),
            gate=gate,
        )

    # --- settings actions ------------------------------------------------------------------

    def check(self) -> CheckResult:
        return checks.check(self.client, self.reference_data)

    def reference_data(self) -> ReferenceData:
        """Tickets picklists fresh (one request); note picklists from the metadata cache."""
        return checks.reference_data(self.client, self.clock)

    # --- companies -------------------------------------------------------------------------

    def search_companies(
        self, text: str, *, page_size: int = 25, cursor: str | None = None
    ) -> CompanyPage:
        text = text.strip()
        filters = [query.contains("companyName", text)] if text else [query.EVERYTHING]
        if cursor:
            # Id paging, as Autotask's own docs advise; results come in id order (§4.4).
            filters.append(query.gt("id", int(cursor)))
        items, more = self.client.query_page(
            "Companies", filters, max_records=page_size, include_fields=COMPANY_FIELDS
        )
        companies = tuple(sorted((remote_company(i) for i in items), key=lambda c: c.id))
        next_cursor = str(companies[-1].id) if more and companies else None
        return CompanyPage(companies, next_cursor)

    def get_companies(self, ids: Sequence[int]) -> dict[int, RemoteCompany]:
        found = self.client.query_by_ids("Companies", ids, include_fields=COMPANY_FIELDS)
        return {c.id: c for c in map(remote_company, found)}

    # --- tickets ---------------------------------------------------------------------------

    def create_ticket(self, draft: TicketDraft, *, read_back: bool = True) -> RemoteTicket:
        """POST Tickets, then GET it back (and its contact's address); without ``read_back``,
        the new id with what was sent (tickets.as_made)."""
        status, priority = draft.status_id, draft.priority_id
        if status is None or priority is None:
            fields = self.client.fields("Tickets")
            status = status or _default_id(fields, "status")
            priority = priority or _default_id(fields, "priority")
        known = people.contacts(
            self.client, draft.company_id, [draft.reporter or "", *draft.watchers]
        )
        contact_id = known.get((draft.reporter or "").casefold())
        body: dict[str, Any] = {
            "companyID": draft.company_id,
            "contactID": contact_id,
            "title": draft.title,
            "description": draft.description or None,
            "queueID": draft.queue_id,
            "source": draft.source_id,
            "status": status,
            "priority": priority,
            "externalID": draft.external_id,
            "configurationItemID": draft.configuration_item_id,
        }
        if draft.category_id is not None:
            body["ticketCategory"] = draft.category_id
        if draft.user_defined_fields:
            body["userDefinedFields"] = [
                {"name": name, "value": value} for name, value in draft.user_defined_fields
            ]
        timeout = max(self.config.create_timeout_seconds, self.config.timeout_seconds)
        ticket_id = self.client.create("Tickets", body, timeout=timeout)
        if not read_back:
            ticket = as_made(ticket_id, body)
        else:
            try:
                ticket = self._tickets([self.client.get_item("Tickets", ticket_id)])[0]
            except ConnectorError as exc:
                exc.remote_id = ticket_id
                raise
        if draft.reporter is None and not draft.watchers:
            return ticket
        others = [w for w in draft.watchers if known.get(w.casefold()) != contact_id]
        linked, unlinked = people.add_contacts(self.client, ticket_id, others, known)
        told = outcome(
            draft.reporter, contact_id is not None, people.NOT_A_CONTACT, linked, unlinked
        )
        return replace(ticket, people=told)

    def get_tickets(self, ids: Sequence[int]) -> dict[int, RemoteTicket]:
        found = list(self.client.query_by_ids("Tickets", ids, include_fields=TICKET_FIELDS))
        return {t.id: t for t in self._tickets(found)}

    def find_tickets(
        self, *, ticket_number: str | None = None, external_id: str | None = None
    ) -> list[RemoteTicket]:
        filters = []
        if ticket_number is not None:
            filters.append(query.eq("ticketNumber", ticket_number))
        if external_id is not None:
            filters.append(query.eq("externalID", external_id))
        if not filters:
            raise ValueError("find_tickets needs a ticket number or an external id")
        found = self.client.query_all("Tickets", filters, include_fields=TICKET_FIELDS)
        # Autotask string comparison ignores case; the protocol promises exact matches.
        tickets = self._tickets(found)
        return sorted(
            (
                t
                for t in tickets
                if (ticket_number is None or t.number == ticket_number)
                and (external_id is None or t.external_id == external_id)
            ),
            key=lambda t: t.id,
        )

    def find_tickets_by_references(
        self, references: Sequence[str]
    ) -> dict[str, list[RemoteTicket]]:
        wanted = list(dict.fromkeys(references))
        found: dict[str, list[RemoteTicket]] = {reference: [] for reference in wanted}
        size = query.MAX_OR_CONDITIONS
        for start in range(0, len(wanted), size):
            batch = wanted[start : start + size]
            items = self.client.query_all(
                "Tickets", [query.in_("externalID", batch)], include_fields=TICKET_FIELDS
            )
            for ticket in self._tickets(items):
                # Autotask string comparison ignores case; the protocol promises exact matches.
                if ticket.external_id in found:
                    found[ticket.external_id].append(ticket)
        for tickets in found.values():
            tickets.sort(key=lambda t: t.id)
        return found

    def find_tickets_by_udf(
        self, name: str, value: str, *, company_id: int | None = None
    ) -> list[RemoteTicket]:
        filters = [query.udf_eq(name, value)]
        if company_id is not None:
            filters.append(query.eq("companyID", int(company_id)))
        found = self.client.query_all("Tickets", filters, include_fields=TICKET_FIELDS)
        # UDFs come back with every item, whatever includeFields says (reference §4.3);
        # Autotask compares text ignoring case, the protocol promises exact matches.
        exact = [item for item in found if udfs.udf_value(item, name) == value]
        return sorted(self._tickets(exact), key=lambda t: t.id)

    def find_configuration_items(self, udf_name: str, value: str) -> list[RemoteConfigurationItem]:
        found = self.client.query_all(
            "ConfigurationItems", [query.udf_eq(udf_name, value)], include_fields=udfs.DEVICE_FIELDS
        )
        items = [udfs.device(item) for item in found if udfs.udf_value(item, udf_name) == value]
        return sorted(items, key=lambda d: d.id)

    def add_note(self, ticket_id: int, text: str, *, internal: bool = True) -> int:
        fields = self.client.fields("TicketNotes")
        note_type = _default_id(fields, "noteType") or 1
        publish = picklists.publish_value(picklists.picklist(fields, "publish"), internal=internal)
        limit = picklists.field_length(fields, "description") or DEFAULT_NOTE_LENGTH
        title = (text.strip().splitlines() or ["Note"])[0][:NOTE_TITLE_LENGTH]
        body = {
            "ticketID": ticket_id,
            "title": title,
            "description": text[:limit],
            "noteType": note_type,
            "publish": publish,
        }
        try:
            return self.client.create(f"Tickets/{int(ticket_id)}/Notes", body)
        except (RemoteRejected, RemoteNotFound):
            self._require_ticket(ticket_id)
            raise

    def count_time_entries(self, ticket_id: int) -> int:
        return self.client.count("TimeEntries", [query.eq("ticketID", int(ticket_id))])

    def close_ticket(self, ticket_id: int, status_id: int) -> None:
        try:
            self.client.update("Tickets", {"id": int(ticket_id), "status": int(status_id)})
        except (RemoteRejected, RemoteNotFound):
            # Autotask reports a missing record on PATCH as a generic 500; say which it was.
            self._require_ticket(ticket_id)
            raise

    def set_ticket_udfs(self, ticket_id: int, fields: Sequence[tuple[str, str]]) -> None:
        if not fields:
            return
        udfs = [{"name": name, "value": value} for name, value in fields]
        try:
            self.client.update("Tickets", {"id": int(ticket_id), "userDefinedFields": udfs})
        except (RemoteRejected, RemoteNotFound):
            self._require_ticket(ticket_id)  # a missing ticket is a generic 500 on PATCH
            raise

    def changed_since(self, since: datetime) -> list[RemoteTicket]:
        if since.tzinfo is None:
            raise ValueError("changed_since needs an aware datetime")
        stamp = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        found = self.client.query_all(
            "Tickets", [query.gt("lastActivityDate", stamp)], include_fields=TICKET_FIELDS
        )
        tickets = self._tickets(found)
        # Guard against a remote comparing at coarser precision than ours.
        return sorted(
            (t for t in tickets if t.last_activity is None or t.last_activity > since),
            key=lambda t: t.id,
        )

    def changed_pages(self, since: datetime) -> Iterator[list[RemoteTicket]]:
        if since.tzinfo is None:
            raise ValueError("changed_pages needs an aware datetime")
        stamp = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        found = self.client.query_all(
            "Tickets", [query.gt("lastActivityDate", stamp)], include_fields=TICKET_FIELDS
        )
        # Autotask pages by id (``nextPageUrl`` asks for ids after the last one), which a write
        # to a listed ticket does not change; a page's contacts are read with the page.
        for items in chunked(found, query.MAX_RECORDS):
            tickets = self._tickets(items)
            yield [t for t in tickets if t.last_activity is None or t.last_activity > since]

    # --- helpers ---------------------------------------------------------------------------

    def _require_ticket(self, ticket_id: int) -> None:
        if not self.get_tickets([ticket_id]):
            raise RemoteNotFound(f"Autotask ticket {ticket_id} does not exist (any more).")

    def _tickets(self, items: Iterable[dict[str, Any]]) -> list[RemoteTicket]:
        """Tickets from Autotask items; the status picklist is read once, when first needed, and
        the items' contacts' addresses in one query per 500 contacts, not one per ticket."""
        labels: dict[int, str] | None = None
        tickets = []
        items = list(items)
        contact_ids = (opt_int(item.get("contactID")) for item in items)
        addresses = people.addresses(self.client, (c for c in contact_ids if c is not None))
        for item in items:
            status = opt_int(item.get("status"))
            if status is not None and labels is None:
                statuses = picklists.picklist(self.client.fields("Tickets"), "status")
                labels = {value.id: value.name for value in statuses}
            tickets.append(remote_ticket(item, status, labels or {}, addresses))
        return tickets


def _default_id(fields: picklists.Fields, name: str) -> int | None:
    value = picklists.default_value(picklists.picklist(fields, name))
    return value.id if value else None
