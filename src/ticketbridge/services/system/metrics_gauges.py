"""Gauges computed when Prometheus scrapes: the queues an operator empties and the PSA budget.

Counting at scrape time keeps them right whichever process changed the rows, without a job;
each is one indexed count (the unreviewed runs use 0013's partial index), so a scrape every
15 s costs three small queries. The budget is this process's governor estimate
(:mod:`ticketbridge.connectors.governor`): with several processes, each sees its own share
and Autotask's last figure, the one that matters.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from ticketbridge.core.ticket_links import LinkState
from ticketbridge.services.runtime import Runtime
from ticketbridge.storage.models import MailMessage, Run, TicketLinkRow


class QueueDepth(Collector):
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[Metric]:
        gauge = GaugeMetricFamily(
            "ticketbridge_queue_depth",
            "Work waiting now: unreviewed runs, mails waiting for approval in the Inbox, "
            "ticket creates waiting for their outcome.",
            labels=["queue"],
        )
        with self.runtime.session_factory() as session:
            counts = {
                "unreviewed_runs": select(func.count())
                .select_from(Run)
                .where(Run.reviewed_at.is_(None)),
                "inbox_mails": select(func.count())
                .select_from(MailMessage)
                .where(MailMessage.awaiting_approval.is_(True)),
                "pending_ticket_actions": select(func.count())
                .select_from(TicketLinkRow)
                .where(TicketLinkRow.state == LinkState.CREATING.value),
            }
            for queue, query in counts.items():
                gauge.add_metric([queue], float(session.scalar(query) or 0))
        yield gauge


class PsaBudget(Collector):
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[Metric]:
        used = GaugeMetricFamily(
            "ticketbridge_psa_budget_used_requests",
            "Requests of the PSA's hourly budget used: its last figure plus ours since.",
            labels=["kind", "connection"],
        )
        limit = GaugeMetricFamily(
            "ticketbridge_psa_budget_limit_requests",
            "The PSA's request budget for its window (Autotask: per rolling hour).",
            labels=["kind", "connection"],
        )
        latest = {}
        for governor in self.runtime.psa_governors.all():
            # A changed connection gets a new governor; the last one made is the one in use.
            latest[governor.service.lower()] = governor.state().budget
        for kind, budget in latest.items():
            used.add_metric([kind, kind], float(budget.used))
            limit.add_metric([kind, kind], float(budget.limit))
        yield used
        yield limit


def collectors(runtime: Runtime) -> list[Collector]:
    return [QueueDepth(runtime), PsaBudget(runtime)]
