"""Name suggestions for unmapped customers (design §3.1): the PSA's companies whose normalised
name equals an active unmapped customer's. Proposals only; an operator maps one explicitly."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from ticketbridge.core import mapping_status as rules
from ticketbridge.core.psa_governor import Priority
from ticketbridge.services.connections import active as active_connection
from ticketbridge.services.connections.mapping import mappings
from ticketbridge.services.runtime import Runtime
from ticketbridge.storage.models import Customer

SUGGESTION_PAGE_SIZE = 500
SUGGESTION_MAX_PAGES = 20  # 10,000 companies; beyond that, search by name instead


@dataclass(frozen=True)
class CustomerSuggestion:
    customer_id: int
    customer_name: str
    company_id: int
    company_name: str


def suggestions(runtime: Runtime, connection_id: int | None = None) -> list[CustomerSuggestion]:
    """Companies whose normalised name equals an unmapped active customer's. Proposals only:
    applying one is an explicit map_customer by an operator."""
    with runtime.session_factory() as session:
        mapped = mappings(session, connection_id)
        taken = {int(r.company_id) for r in mapped.values()}
        unmapped = {
            c.id: c.name
            for c in session.scalars(select(Customer).where(Customer.active.is_(True)))
            if c.id not in mapped
        }
        if not unmapped:
            return []
        companies: list[rules.Company] = []
        with active_connection.active(
            runtime, session, connection_id, priority=Priority.OPERATOR
        ) as psa:
            cursor: str | None = None
            for _ in range(SUGGESTION_MAX_PAGES):
                page = psa.connector.search_companies(
                    "", page_size=SUGGESTION_PAGE_SIZE, cursor=cursor
                )
                companies += [rules.Company(c.id, c.name, c.active) for c in page.items]
                cursor = page.next_cursor
                if cursor is None:
                    break
    proposals = rules.suggest_mappings(unmapped, companies, taken)
    return [
        CustomerSuggestion(s.customer_id, unmapped[s.customer_id], s.company_id, s.company_name)
        for customer_id in sorted(proposals, key=lambda i: unmapped[i].casefold())
        for s in proposals[customer_id]
    ]
