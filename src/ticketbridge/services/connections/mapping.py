"""Customer to Autotask company mapping (design §3): map, unmap, validate, suggest, acknowledge.

The company ID is leading; the name is cached for display and follows Autotask. The status
rules are the pure functions of :mod:`ticketbridge.core.mapping_status`; this module stores
them and asks Autotask. Validation reads the mapped companies with ``id in [...]`` queries, one
request per 500 distinct companies, and writes one summary audit event per run.

For ticket work: :func:`mapping_for_customer` (stored, no request) and
:func:`check_customer` (validated against Autotask first, one request, in the action's session
and through its connector).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ticketbridge.connectors.errors import ConnectorError, ConnectorPermissionError
from ticketbridge.connectors.psa.base import CompanyPage, PsaConnector, RemoteCompany
from ticketbridge.core import mapping_status as rules
from ticketbridge.core.mapping_status import CompanyMapping, CompanyRead, MappingStatus
from ticketbridge.core.psa_governor import Priority
from ticketbridge.services.connections import autotask as autotask_connection
from ticketbridge.services.connections import settings as integration_settings
from ticketbridge.services.connections.settings import KIND
from ticketbridge.services.runs import catalog
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.system import audit
from ticketbridge.storage.models import CompanyMappingRow, Customer

VALIDATE_ACTION = "autotask.mappings.validate"
SUGGESTION_PAGE_SIZE = 500
SUGGESTION_MAX_PAGES = 20  # 10,000 companies; beyond that, search by name instead


class MappingError(ValueError):
    """A mapping request that cannot be applied; ``field`` says which input is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class ValidationSummary:
    checked: int
    statuses: dict[str, int]
    changed: list[int] = field(default_factory=list)  # customer ids whose status/name changed
    checked_at: datetime | None = None


# --- reading -------------------------------------------------------------------------------


def _row(session: Session, customer_id: int) -> CompanyMappingRow | None:
    return session.scalar(
        select(CompanyMappingRow).where(
            CompanyMappingRow.kind == KIND, CompanyMappingRow.customer_id == customer_id
        )
    )


def to_mapping(row: CompanyMappingRow | None) -> CompanyMapping:
    if row is None:
        return rules.UNMAPPED
    return CompanyMapping(
        company_id=int(row.company_id),
        cached_name=row.company_name,
        status=MappingStatus(row.status),
        previous_name=row.previous_name,
        invalid_reason=row.reason,
        last_sync=row.last_checked_at,
    )


def _apply(row: CompanyMappingRow, mapping: CompanyMapping) -> None:
    row.company_name = (mapping.cached_name or "")[:300]
    row.status = mapping.status.value
    row.previous_name = mapping.previous_name
    row.reason = mapping.invalid_reason
    row.last_checked_at = mapping.last_sync


def mapping_for_customer(session: Session, customer_id: int) -> CompanyMapping:
    """The stored mapping (``UNMAPPED``, status missing, when there is none). No request."""
    return to_mapping(_row(session, customer_id))


def mappings(session: Session) -> dict[int, CompanyMappingRow]:
    """Every stored mapping by customer id."""
    rows = session.scalars(select(CompanyMappingRow).where(CompanyMappingRow.kind == KIND))
    return {row.customer_id: row for row in rows}


# --- searching and mapping -----------------------------------------------------------------


def search_companies(
    runtime: Runtime, text: str, *, cursor: str | None = None, page_size: int = 25
) -> CompanyPage:
    """One page of companies whose name contains ``text`` (active and inactive)."""
    if cursor is not None and not cursor.isdigit():
        raise MappingError("cursor", "not a cursor returned by an earlier page")
    with (
        runtime.session_factory() as session,
        autotask_connection.active(runtime, session, priority=Priority.OPERATOR) as autotask,
    ):
        return autotask.connector.search_companies(text, page_size=page_size, cursor=cursor)


def map_customer(
    runtime: Runtime, customer_id: int, company_id: int, *, actor: str
) -> CompanyMapping:
    """Map a customer to one company by ID, after reading that company from Autotask."""
    action = "autotask.mapping.map"
    subject = f"customer {customer_id}"
    with runtime.session_factory() as session:
        customer = catalog.get_customer(session, customer_id)
        try:
            with autotask_connection.active(
                runtime, session, priority=Priority.OPERATOR
            ) as autotask:
                found = autotask.connector.get_companies([company_id])
        except (ConnectorError, autotask_connection.IntegrationUnavailable) as exc:
            session.rollback()
            autotask_connection.record_failure(
                runtime, actor=actor, action=action, exc=exc, subject=subject
            )
            raise
        company = found.get(company_id)
        if company is None:
            raise MappingError("company_id", f"Autotask has no company {company_id}.")
        if not company.active:
            raise MappingError("company_id", f"Autotask company {company.name!r} is inactive.")
        mapping = rules.map_to(rules.Company(company.id, company.name), runtime.clock())
        row = _row(session, customer_id)
        before = to_mapping(row)
        if row is None:
            row = CompanyMappingRow(kind=KIND, customer_id=customer_id, company_id=company_id)
            session.add(row)
        row.company_id = company_id
        row.mapped_by = actor
        row.mapped_at = runtime.clock()
        _apply(row, mapping)
        audit.record(
            session,
            actor=actor,
            action=action,
            subject=subject,
            details={
                "customer": customer.name,
                "company_id": company_id,
                "company_name": company.name,
                "previous_company_id": before.company_id,
            },
        )
        session.commit()
        return mapping


def unmap_customer(session: Session, customer_id: int, *, actor: str) -> None:
    """Remove the mapping (no request: unmapping needs nothing from Autotask)."""
    customer = catalog.get_customer(session, customer_id)
    row = _row(session, customer_id)
    if row is None:
        return
    audit.record(
        session,
        actor=actor,
        action="autotask.mapping.unmap",
        subject=f"customer {customer_id}",
        details={"customer": customer.name, "company_id": int(row.company_id)},
    )
    session.delete(row)


def acknowledge_rename(session: Session, customer_id: int, *, actor: str) -> CompanyMapping:
    row = _row(session, customer_id)
    if row is None:
        raise MappingError("customer_id", "this customer is not mapped")
    before = to_mapping(row)
    after = rules.acknowledge_rename(before)
    if after != before:
        _apply(row, after)
        audit.record(
            session,
            actor=actor,
            action="autotask.mapping.acknowledge",
            subject=f"customer {customer_id}",
            details={"previous_name": before.previous_name, "name": after.cached_name},
        )
    return after


# --- validation ----------------------------------------------------------------------------


def validate(runtime: Runtime, *, actor: str) -> ValidationSummary:
    """Check every mapping against Autotask and store the results; one summary audit event.
    Raises IntegrationUnavailable or ConnectorError."""
    with runtime.session_factory() as session:
        query = select(CompanyMappingRow).where(CompanyMappingRow.kind == KIND)
        rows = list(session.scalars(query.order_by(CompanyMappingRow.customer_id)))
        try:
            with autotask_connection.active(runtime, session) as autotask:
                reads = _read_companies(autotask.connector, rows)
        except (ConnectorError, autotask_connection.IntegrationUnavailable) as exc:
            session.rollback()
            autotask_connection.record_failure(
                runtime, actor=actor, action=VALIDATE_ACTION, exc=exc
            )
            raise
        now = runtime.clock()
        statuses = {
            status.value: 0 for status in MappingStatus if status is not MappingStatus.MISSING
        }
        changed: list[int] = []
        for row in rows:
            before = to_mapping(row)
            after = _refresh(row, reads[int(row.company_id)], now)
            statuses[after.status.value] += 1
            if (after.status, after.cached_name) != (before.status, before.cached_name):
                changed.append(row.customer_id)
        audit.record(
            session,
            actor=actor,
            action=VALIDATE_ACTION,
            subject=integration_settings.SUBJECT,
            outcome="ok" if statuses[MappingStatus.INVALID.value] == 0 else "problems",
            details={
                "scope": "all",
                "checked": len(rows),
                "statuses": statuses,
                "changed_customers": changed[:100],
            },
        )
        session.commit()
        return ValidationSummary(len(rows), statuses, changed, now)


def _read_companies(
    connector: PsaConnector, rows: Sequence[CompanyMappingRow]
) -> dict[int, RemoteCompany | CompanyRead]:
    """The mapped companies as Autotask has them now, by company id (no request without rows)."""
    ids = sorted({int(r.company_id) for r in rows})
    try:
        found = connector.get_companies(ids) if ids else {}
    except ConnectorPermissionError:
        # The API user may not read companies at all: every mapping is inaccessible.
        return dict.fromkeys(ids, CompanyRead.INACCESSIBLE)
    return {i: found.get(i, CompanyRead.NOT_FOUND) for i in ids}


def _refresh(
    row: CompanyMappingRow, read: RemoteCompany | CompanyRead, now: datetime
) -> CompanyMapping:
    company = (
        rules.Company(read.id, read.name, read.active) if isinstance(read, RemoteCompany) else read
    )
    after = rules.refresh(to_mapping(row), company, now)
    _apply(row, after)
    return after


def check_customer(
    session: Session, connector: PsaConnector, customer_id: int, now: datetime
) -> CompanyMapping:
    """Validate one customer's mapping right before a ticket action, through the action's own
    session and connector; the fresh mapping (use core.mapping_status.creation_blocker on it).
    Not audited on its own: the action's event carries :func:`evidence`. Ends the session's
    transaction before the request, so no database connection waits on Autotask, and leaves
    the refreshed row for the caller to commit; no request when the customer is unmapped.
    Raises ConnectorError."""
    row = _row(session, customer_id)
    if row is None:
        return rules.UNMAPPED
    session.commit()
    return _refresh(row, _read_companies(connector, [row])[int(row.company_id)], now)


def evidence(mapping: CompanyMapping) -> dict[str, Any]:
    """What a ticket action's audit event keeps of the mapping it checked."""
    details: dict[str, Any] = {
        "company_id": mapping.company_id,
        "company_name": mapping.cached_name,
        "status": mapping.status.value,
    }
    if mapping.invalid_reason:
        details["reason"] = mapping.invalid_reason
    return details


def nightly(runtime: Runtime) -> ValidationSummary | None:
    """The periodic validation; does nothing (and sends nothing) while disabled."""
    with runtime.session_factory() as session:
        if not integration_settings.is_enabled(session):
            return None
    return validate(runtime, actor="system")


# --- suggestions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerSuggestion:
    customer_id: int
    customer_name: str
    company_id: int
    company_name: str


def suggestions(runtime: Runtime) -> list[CustomerSuggestion]:
    """Companies whose normalised name equals an unmapped active customer's. Proposals only:
    applying one is an explicit map_customer by an operator."""
    with runtime.session_factory() as session:
        mapped = mappings(session)
        taken = {int(r.company_id) for r in mapped.values()}
        unmapped = {
            c.id: c.name
            for c in session.scalars(select(Customer).where(Customer.active.is_(True)))
            if c.id not in mapped
        }
        if not unmapped:
            return []
        companies: list[rules.Company] = []
        with autotask_connection.active(runtime, session, priority=Priority.OPERATOR) as autotask:
            cursor: str | None = None
            for _ in range(SUGGESTION_MAX_PAGES):
                page = autotask.connector.search_companies(
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
