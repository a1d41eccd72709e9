"""What a ticket for a run is made of: the run's facts, read from the database, and the
content composed by the pure rules in core with the field lengths Autotask allows."""

from __future__ import annotations

from urllib.parse import urlsplit

from ticketbridge.connectors import registry
from ticketbridge.core import ticket_content
from ticketbridge.core.statuses import RunStatus
from ticketbridge.services.connections.active import ActiveConnection
from ticketbridge.storage.models import Run


def installation_of(base_url: str) -> str:
    """The installation part of the run reference: the base URL's host, so two ticketbridge
    instances on one Autotask tenant never share references."""
    return urlsplit(base_url.strip()).hostname or "ticketbridge"


def run_facts(run: Run) -> ticket_content.RunFacts:
    return ticket_content.RunFacts(
        run_id=run.id,
        job_id=run.job_id,
        customer_name=run.job.customer.name,
        job_name=run.job.job_name,
        backup_product=run.job.backup_product,
        job_type=run.job.job_type,
        status=status_of(run.status),
        started_at=run.started_at,
        overall_remark=run.overall_remark or None,
        objects=tuple(
            ticket_content.RunObject(o.name, o.type, status_of(o.status), o.message or None)
            for o in run.objects
        ),
    )


def status_of(value: str) -> RunStatus:
    """A stored status; one this version does not know reads as unknown."""
    try:
        return RunStatus(value)
    except ValueError:
        return RunStatus.UNKNOWN


def compose(
    autotask: ActiveConnection, facts: ticket_content.RunFacts, zone: str
) -> ticket_content.TicketContent:
    settings = autotask.settings
    # The kind's field lengths (Autotask: from its metadata, cached for a day).
    lengths = registry.ticket_fields(autotask.connector.kind)(autotask.connector)
    return ticket_content.compose_ticket(
        facts,
        ticket_content.ContentSettings(
            base_url=settings.base_url,
            installation=installation_of(settings.base_url),
            ui_timezone=zone,
            title_prefix=settings.title_prefix,
            max_listed_objects=settings.max_listed_objects,
            title_max_length=lengths.title,
            description_max_length=lengths.description,
            external_id_max_length=lengths.external_id,
        ),
    )
