"""A sync row read as the rules' terms (core/sync): its watermark policy, the field mapping of
each direction, the company each ticket goes to on the other side, its scope (companies,
queues, a query ANDed into the listing) and the marker its copies carry.

The row's ``mapping`` JSON, per direction (``a_to_b``, ``b_to_a``)::

    {"status": {"rows": {"<source id>": "<target id>"}, "default": null},
     "priority": {...}, "company": {...}, "queue": {...}, "categories": {...}}

A ticket's company on the other side is the company table's row, else the company the same
customer is mapped to in the other connection (Settings > Connections > mappings), else the
table's default; without any of them the ticket fails with a reason an admin can act on.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ticketbridge.connectors import registry
from ticketbridge.connectors.psa.base import PsaConnector, RemoteTicket, TicketDraft
from ticketbridge.core.sync.field_mapping import DirectionMapping, ValueMap
from ticketbridge.core.sync.sides import Direction, Side
from ticketbridge.core.sync.watermarks import WatermarkPolicy
from ticketbridge.services.sync.carried import Carried, carried
from ticketbridge.storage.models import CompanyMappingRow
from ticketbridge.storage.models.sync import SyncRow

MARKER_PREFIX = "tbsync"


def marker(sync_id: int, source: Side, source_id: str) -> str:
    """The external id a copy carries: which sync wrote it, from which side and item. Short
    enough for Autotask's 50-character externalID; Jira keeps it as our reference label."""
    return f"{MARKER_PREFIX}-{sync_id}-{source.value}-{source_id}"


def origin_of(sync_id: int, side: Side, external_id: str | None) -> str | None:
    """The id on the other side of the item this one (read on ``side``) was copied from, when
    it carries this sync's marker; None for anything else (a run's ticket has its own)."""
    if not external_id:
        return None
    prefix = f"{MARKER_PREFIX}-{sync_id}-{side.other.value}-"
    if not external_id.startswith(prefix):
        return None
    found = external_id[len(prefix) :]
    return found or None


def _value_map(raw: Any) -> ValueMap:
    if not isinstance(raw, Mapping):
        return ValueMap()
    rows = raw.get("rows") or {}
    default = raw.get("default")
    return ValueMap(
        rows={str(k): str(v) for k, v in rows.items()},
        default=None if default is None else str(default),
    )


@dataclass(frozen=True)
class DirectionConfig:
    direction: Direction
    fields: DirectionMapping
    companies: ValueMap
    # The opposite direction's fields: a conflict is judged with both tables.
    reverse_fields: DirectionMapping = field(default_factory=DirectionMapping)
    # Source companies this direction carries; empty: every company.
    scope: frozenset[str] = frozenset()
    # Source queues (where the kind has queues: Autotask) it carries; empty: every queue.
    queues: frozenset[str] = frozenset()
    # A query fragment ANDed into the source's listing (Jira: JQL); None: the whole listing.
    query: str | None = None
    # The teams switch: a new ticket's queue through the queue table (source queue -> the
    # target's queue: an Autotask queue, the Jira connection's issue type).
    carries_queues: bool = False
    queues_across: ValueMap = field(default_factory=ValueMap)
    # The contacts switch: a new ticket's copy names the source ticket's person by address.
    carries_contacts: bool = False
    # The categories switch: a new ticket's category (Autotask ticketCategory, Jira label)
    # through the categories table (source category or label -> the target's).
    carries_categories: bool = False
    categories_across: ValueMap = field(default_factory=ValueMap)
    # Source company -> target company through a customer mapped in both connections.
    by_customer: Mapping[str, str] = field(default_factory=dict)
    # The fields a mapped ticket's updates compare and carry (the switches' entity fields).
    carried: Carried = field(default_factory=Carried)

    def in_scope(self, company_id: int | None, queue_id: int | None = None) -> bool:
        companies = not self.scope or (company_id is not None and str(company_id) in self.scope)
        queues = not self.queues or (queue_id is not None and str(queue_id) in self.queues)
        return companies and queues

    def target_queue(self, queue_id: int | None) -> int | None:
        """The copy's queue: the queue table's row for the source's queue, else its default;
        None (the target connection's default queue) with the teams switch off, or neither."""
        if not self.carries_queues:
            return None
        row = self.queues_across.rows.get(str(queue_id)) if queue_id is not None else None
        chosen = row or self.queues_across.default
        return int(chosen) if chosen is not None and chosen.isdigit() else None

    def with_entities(self, draft: TicketDraft, ticket: RemoteTicket) -> TicketDraft:
        """The new copy's draft with the person and category the switches carry. The mapped
        category goes as both a label and, when it is an id, a category: each PSA keeps the one
        it has (Jira labels, Autotask's ticketCategory)."""
        reporter = ticket.contact_email if self.carries_contacts else None
        category = self.target_category(ticket.categories)
        return replace(
            draft,
            reporter=reporter,
            labels=(*draft.labels, category) if category else draft.labels,
            category_id=int(category) if category and category.isdigit() else None,
        )

    def target_category(self, categories: tuple[str, ...]) -> str | None:
        """The first of the source's categories with a row in the table, else its default;
        None with the categories switch off."""
        if not self.carries_categories:
            return None
        rows = self.categories_across.rows
        found = next((rows[c] for c in categories if c in rows), None)
        return found or self.categories_across.default

    def target_company(self, company_id: int | None) -> int | None:
        source = "" if company_id is None else str(company_id)
        chosen = self.companies.rows.get(source) or self.by_customer.get(source)
        chosen = chosen or self.companies.default
        return int(chosen) if chosen is not None else None


def _scope(raw: Mapping[str, Any], key: str = "company_ids") -> frozenset[str]:
    return frozenset(str(value) for value in raw.get(key) or ())


def listing(source: PsaConnector, since: datetime, config: DirectionConfig) -> list[RemoteTicket]:
    """The source's changed tickets, narrowed by the side's query where it has one (a query on
    a kind without the capability is refused when the sync is saved, syncs.check_scope)."""
    narrowing = registry.ticket_query(source.kind) if config.query else None
    if narrowing is None or config.query is None:
        return source.changed_since(since)
    return narrowing.changed_since(source, since, config.query)


def listing_pages(
    source: PsaConnector, since: datetime, config: DirectionConfig
) -> Iterator[list[RemoteTicket]]:
    """``listing`` a page at a time, each page read when the one before it is done."""
    narrowing = registry.ticket_query(source.kind) if config.query else None
    if narrowing is None or config.query is None:
        return source.changed_pages(since)
    return narrowing.changed_pages(source, since, config.query)


def _customer_companies(session: Session, source: int, target: int) -> dict[str, str]:
    """Companies of ``source`` to companies of ``target`` through customers mapped in both;
    a source company whose customers point to different target companies is left out."""
    rows = session.execute(
        select(
            CompanyMappingRow.connection_id,
            CompanyMappingRow.customer_id,
            CompanyMappingRow.company_id,
        )
        .where(CompanyMappingRow.connection_id.in_((source, target)))
        .where(CompanyMappingRow.status != "invalid")
    ).all()
    target_of = {customer: company for conn, customer, company in rows if conn == target}
    found: dict[str, set[str]] = {}
    for conn, customer, company in rows:
        if conn == source and customer in target_of:
            found.setdefault(str(company), set()).add(str(target_of[customer]))
    return {company: next(iter(t)) for company, t in found.items() if len(t) == 1}


def _fields(row: SyncRow, direction: Direction) -> DirectionMapping:
    raw = (row.mapping or {}).get(direction.value) or {}
    return DirectionMapping(
        status=_value_map(raw.get("status")),
        priority=_value_map(raw.get("priority")),
        queue=_value_map(raw.get("queue")),
        category=_value_map(raw.get("categories")),
    )


def direction_config(session: Session, row: SyncRow, direction: Direction) -> DirectionConfig:
    raw = (row.mapping or {}).get(direction.value) or {}
    reverse = Direction.B_TO_A if direction is Direction.A_TO_B else Direction.A_TO_B
    source_scope = row.scope_a if direction.source is Side.A else row.scope_b
    connections = (row.connection_a_id, row.connection_b_id)
    if direction is Direction.B_TO_A:
        connections = connections[::-1]
    return DirectionConfig(
        direction=direction,
        fields=_fields(row, direction),
        companies=_value_map(raw.get("company")),
        reverse_fields=_fields(row, reverse),
        scope=_scope(source_scope or {}),
        queues=_scope(source_scope or {}, "queue_ids"),
        query=(source_scope or {}).get("jql") or None,
        carries_queues=bool((row.entities or {}).get("teams")),
        queues_across=_value_map(raw.get("queue")),
        carries_contacts=bool((row.entities or {}).get("contacts")),
        carries_categories=bool((row.entities or {}).get("categories")),
        categories_across=_value_map(raw.get("categories")),
        by_customer=_customer_companies(session, *connections),
        carried=carried(row.entities, row.mapping),
    )


def watermark_policy(row: SyncRow) -> WatermarkPolicy:
    return WatermarkPolicy(start_date=row.start_date)


def directions(row: SyncRow) -> list[Direction]:
    """The directions switched on, A to B first."""
    on = {Direction.A_TO_B: row.a_to_b, Direction.B_TO_A: row.b_to_a}
    return [direction for direction, enabled in on.items() if enabled]
