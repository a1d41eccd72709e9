"""Customer to PSA company mapping (design §3): map, unmap, validate, acknowledge (name
suggestions are :mod:`.suggestions`).

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
from ticketbridge.services.connections import active as active_connection
from ticketbridge.services.connections import named
from ticketbridge.services.runs import catalog
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.system import audit
from ticketbridge.storage.models import CompanyMappingRow, Customer


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


def _connection_of(session: Session, customer_id: int, connection_id: int | None) -> int | None:
    """``connection_id``, or for None the connection the customer's run tickets go to."""
    if connection_id is not None:
        return connection_id
    row = named.for_customer(session, customer_id)
    return row.id if row is not None else None


def _row(
    session: Session, customer_id: int, connection_id: int | None = None
) -> CompanyMappingRow | None:
    return session.scalar(
        select(CompanyMappingRow).where(
            CompanyMappingRow.connection_id == _connection_of(session, customer_id, connection_id),
            CompanyMappingRow.customer_id == customer_id,
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


def mapping_for_customer(
    session: Session, customer_id: int, connection_id: int | None = None
) -> CompanyMapping:
    """The stored mapping in the connection (None: the one the customer's run tickets go to);
    ``UNMAPPED``, status missing, when there is none. No request."""
    return to_mapping(_row(session, customer_id, connection_id))


def mappings(session: Session, connection_id: int | None = None) -> dict[int, CompanyMappingRow]:
    """Every stored mapping of the connection (None: the ticketing default) by customer id."""
    rows = session.scalars(
        select(CompanyMappingRow).where(
            CompanyMappingRow.connection_id == named.resolved_id(session, connection_id)
        )
    )
    return {row.customer_id: row for row in rows}


def _kind(session: Session, connection_id: int | None) -> str:
    row = named.find(session, connection_id)
    return row.kind if row is not None else "psa"


# --- searching and mapping -----------------------------------------------------------------


def search_companies(
    runtime: Runtime,
    text: str,
    *,
    cursor: str | None = None,
    page_size: int = 25,
    connection_id: int | None = None,
) -> CompanyPage:
    """One page of companies whose name contains ``text`` (active and inactive)."""
    if cursor is not None and not cursor.isdigit():
        raise MappingError("cursor", "not a cursor returned by an earlier page")
    with (
        runtime.session_factory() as session,
        active_connection.active(
            runtime, session, connection_id, priority=Priority.OPERATOR
        ) as psa,
    ):
        return psa.connector.search_companies(text, page_size=page_size, cursor=cursor)


def map_customer(
    runtime: Runtime,
    customer_id: int,
    company_id: int,
    *,
    actor: str,
    connection_id: int | None = None,
) -> CompanyMapping:
    """Map a customer to one company by ID in the connection (None: the one its run tickets go
    to), after reading that company from the PSA."""
    subject = f"customer {customer_id}"
    with runtime.session_factory() as session:
        customer = catalog.get_customer(session, customer_id)
        connection = _connection_of(session, customer_id, connection_id)
        action = f"{_kind(session, connection)}.mapping.map"
        try:
            with active_connection.active(
                runtime, session, connection, priority=Priority.OPERATOR
            ) as psa:
                found = psa.connector.get_companies([company_id])
        except (ConnectorError, active_connection.IntegrationUnavailable) as exc:
            session.rollback()
            active_connection.record_failure(
                runtime, actor=actor, action=action, exc=exc, subject=subject
            )
            raise
        company = found.get(company_id)
        if company is None:
            raise MappingError("company_id", f"{psa.name} has no company {company_id}.")
        if not company.active:
            raise MappingError("company_id", f"{psa.name} company {company.name!r} is inactive.")
        mapping = rules.map_to(rules.Company(company.id, company.name), runtime.clock())
        row = _row(session, customer_id, psa.connection_id)
        before = to_mapping(row)
        if row is None:
            row = CompanyMappingRow(
                connection_id=psa.connection_id, customer_id=customer_id, company_id=company_id
            )
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
                "connection_id": psa.connection_id,
                "company_id": company_id,
                "company_name": company.name,
                "previous_company_id": before.company_id,
            },
        )
        session.commit()
        return mapping


def unmap_customer(
    session: Session, customer_id: int, *, actor: str, connection_id: int | None = None
) -> None:
    """Remove the mapping (no request: unmapping needs nothing from the PSA)."""
    customer = catalog.get_customer(session, customer_id)
    row = _row(session, customer_id, connection_id)
    if row is None:
        return
    audit.record(
        session,
        actor=actor,
        action=f"{_kind(session, row.connection_id)}.mapping.unmap",
        subject=f"customer {customer_id}",
        details={
            "customer": customer.name,
            "connection_id": row.connection_id,
            "company_id": int(row.company_id),
        },
    )
    session.delete(row)


def acknowledge_rename(
    session: Session, customer_id: int, *, actor: str, connection_id: int | None = None
) -> CompanyMapping:
    row = _row(session, customer_id, connection_id)
    if row is None:
        raise MappingError("customer_id", "this customer is not mapped")
    before = to_mapping(row)
    after = rules.acknowledge_rename(before)
    if after != before:
        _apply(row, after)
        audit.record(
            session,
            actor=actor,
            action=f"{_kind(session, row.connection_id)}.mapping.acknowledge",
            subject=f"customer {customer_id}",
            details={"previous_name": before.previous_name, "name": after.cached_name},
        )
    return after


# --- validation ----------------------------------------------------------------------------


def validate(
    runtime: Runtime, *, actor: str, connection_id: int | None = None
) -> ValidationSummary:
    """Check every mapping of the connection (None: the ticketing default) against the PSA
    and store the results; one summary audit event. Raises IntegrationUnavailable or
    ConnectorError."""
    with runtime.session_factory() as session:
        connection = named.resolved_id(session, connection_id)
        subject = f"connection {connection}"
        action = f"{_kind(session, connection)}.mappings.validate"
        query = select(CompanyMappingRow).where(CompanyMappingRow.connection_id == connection)
        rows = list(session.scalars(query.order_by(CompanyMappingRow.customer_id)))
        try:
            with active_connection.active(runtime, session, connection) as psa:
                reads = _read_companies(psa.connector, rows)
        except (ConnectorError, active_connection.IntegrationUnavailable) as exc:
            session.rollback()
            active_connection.record_failure(
                runtime, actor=actor, action=action, exc=exc, subject=subject
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
            action=action,
            subject=subject,
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


def nightly(runtime: Runtime) -> list[ValidationSummary]:
    """The periodic validation of every enabled connection; sends nothing to a disabled one."""
    with runtime.session_factory() as session:
        enabled = [row.id for row in named.all_connections(session) if row.enabled]
    return [validate(runtime, actor="system", connection_id=i) for i in enabled]


def where_tickets_go(session: Session) -> dict[int, tuple[str, CompanyMappingRow | None]]:
    """Every customer's ticketing connection (its name) and its mapping there, by customer
    id; customers without any connection set up are absent. Three queries."""
    connections = {row.id: row for row in named.all_connections(session)}
    default = named.find(session, None)
    rows = {
        (row.connection_id, row.customer_id): row
        for row in session.scalars(select(CompanyMappingRow))
    }
    found: dict[int, tuple[str, CompanyMappingRow | None]] = {}
    for customer_id, chosen in session.execute(
        select(Customer.id, Customer.ticketing_connection_id)
    ):
        connection = connections.get(chosen) if chosen is not None else default
        if connection is not None:
            found[customer_id] = (connection.name, rows.get((connection.id, customer_id)))
    return found
