"""Which company, queue, source, status and priority a new ticket gets (design §3.3, §7.3).

Either a complete field set comes out, or the reason creation is blocked: a missing or invalid
company mapping, a missing base URL, or a ticket default that was never chosen. Issue type and
sub-issue type are deliberately left unset: the ticket owner or traffic manager assigns them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ticketbridge.core.mapping_status import CompanyMapping, MappingStatus, creation_blocker
from ticketbridge.core.statuses import RunStatus
from ticketbridge.core.ticket_content import check_base_url


class PriorityClass(StrEnum):
    WARNING = "warning"
    ERROR = "error"


# success and unknown runs get the Warning priority: an operator chose to raise a ticket for
# them, so something deserves a look, but nothing reported an error (docs/ticket-rules.md).
PRIORITY_BY_STATUS: dict[RunStatus, PriorityClass] = {
    RunStatus.SUCCESS: PriorityClass.WARNING,
    RunStatus.UNKNOWN: PriorityClass.WARNING,
    RunStatus.WARNING: PriorityClass.WARNING,
    RunStatus.ERROR: PriorityClass.ERROR,
    RunStatus.FAILED: PriorityClass.ERROR,
    RunStatus.MISSED: PriorityClass.ERROR,
}


class BlockReason(StrEnum):
    MAPPING_MISSING = "mapping_missing"
    MAPPING_INVALID = "mapping_invalid"
    BASE_URL = "base_url"
    DEFAULT_MISSING = "default_missing"


@dataclass(frozen=True)
class TicketDefaults:
    """The Autotask picklist values chosen in Settings > Integrations > Autotask."""

    queue_id: int | None = None
    source_id: int | None = None
    status_id: int | None = None
    priority_warning_id: int | None = None
    priority_error_id: int | None = None


@dataclass(frozen=True)
class TicketFields:
    company_id: int
    queue_id: int
    status_id: int
    priority_id: int
    source_id: int | None = None
    # Never set by ticketbridge (§7.3); kept as fields so that a payload builder cannot add
    # them by accident without this module saying so.
    issue_type_id: None = None
    sub_issue_type_id: None = None


@dataclass(frozen=True)
class Blocked:
    code: BlockReason
    reason: str


def priority_class(status: RunStatus) -> PriorityClass:
    return PRIORITY_BY_STATUS[status]


def new_ticket_fields(
    run_status: RunStatus,
    customer_name: str,
    mapping: CompanyMapping | None,
    defaults: TicketDefaults,
    base_url: str | None,
) -> TicketFields | Blocked:
    blocker = creation_blocker(mapping, customer_name)
    if blocker is not None or mapping is None or mapping.company_id is None:
        invalid = mapping is not None and mapping.status is MappingStatus.INVALID
        code = BlockReason.MAPPING_INVALID if invalid else BlockReason.MAPPING_MISSING
        return Blocked(code, blocker or f"Customer {customer_name!r} is not mapped.")
    url_problem = check_base_url(base_url or "")
    if url_problem:
        return Blocked(BlockReason.BASE_URL, f"{url_problem} It is needed for Job Details links.")
    wanted = priority_class(run_status)
    priority_id = (
        defaults.priority_warning_id
        if wanted is PriorityClass.WARNING
        else defaults.priority_error_id
    )
    missing = [
        label
        for label, value in (
            ("queue", defaults.queue_id),
            ("status", defaults.status_id),
            (f"priority for {wanted.value.capitalize()}", priority_id),
        )
        if value is None
    ]
    if missing or defaults.queue_id is None or defaults.status_id is None or priority_id is None:
        return Blocked(
            BlockReason.DEFAULT_MISSING,
            "Ticket defaults not configured: " + ", ".join(missing) + ".",
        )
    return TicketFields(
        company_id=mapping.company_id,
        queue_id=defaults.queue_id,
        status_id=defaults.status_id,
        priority_id=priority_id,
        source_id=defaults.source_id,
    )
