"""Task bodies: a few lines each, loading ids and calling one service.

A task is a function `(runtime, **json_kwargs) -> None`, registered under a stable name. The same
names are used in-process and by procrastinate workers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ticketbridge.services.alerts import correlate as alert_correlation
from ticketbridge.services.connections import mapping
from ticketbridge.services.mail import intake as mail_intake
from ticketbridge.services.mail import polling as mail_polling
from ticketbridge.services.mail import subscriptions as mail_subscriptions_service
from ticketbridge.services.roundtrip import polling as roundtrip_polling
from ticketbridge.services.runs import schedules
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.service_desk import process as service_desk
from ticketbridge.services.service_desk import relay
from ticketbridge.services.sync import admin as sync_admin
from ticketbridge.services.sync import run as sync_run
from ticketbridge.services.sync import syncs as sync_syncs
from ticketbridge.services.system import heartbeat
from ticketbridge.services.tickets import duplicates as ticket_duplicates
from ticketbridge.services.tickets import ticketing
from ticketbridge.storage.db import session_scope
from ticketbridge.worker.observe import TaskBody, observed

TASKS: dict[str, TaskBody] = {}


def task(name: str) -> Callable[[TaskBody], TaskBody]:
    def register(body: TaskBody) -> TaskBody:
        TASKS[name] = observed(name, body)  # timed, counted, logged under the job's name
        return body

    return register


@dataclass(frozen=True)
class Schedule:
    task: str
    cron: str
    kwargs: tuple[tuple[str, Any], ...] = ()


# Periodic jobs. Each runs at most once at a time, in-process and across procrastinate workers.
SCHEDULES: tuple[Schedule, ...] = (
    Schedule("system.heartbeat", "* * * * *"),
    Schedule("mail.poll_due", "* * * * *"),
    Schedule("mail.subscriptions", "*/5 * * * *"),
    Schedule("schedules.detect_missed", "*/10 * * * *"),
    Schedule("mail.purge", "17 3 * * *"),
    Schedule("tickets.recover_creating", "* * * * *"),
    Schedule("tickets.validate_links", "*/15 * * * *"),
    Schedule("tickets.sweep_duplicates", "7,37 * * * *"),
    Schedule("autotask.validate_mappings", "41 2 * * *"),
    Schedule("roundtrip.poll", "*/5 * * * *"),
    Schedule("roundtrip.fetch_hinted", "* * * * *"),
    Schedule("alerts.process", "* * * * *"),
    Schedule("service_desk.process", "* * * * *"),
    Schedule("service_desk.relay", "* * * * *"),
    Schedule("sync.run_requested", "* * * * *"),
    Schedule("sync.run_due", "* * * * *"),
)


@task("system.heartbeat")
def system_heartbeat(runtime: Runtime, mode: str = "inprocess") -> None:
    heartbeat.beat(runtime.session_factory, mode=mode, now=runtime.clock())


@task("mail.poll_due")
def mail_poll_due(runtime: Runtime) -> None:
    mail_polling.poll_due(runtime)


@task("mail.subscriptions")
def mail_subscriptions(runtime: Runtime) -> None:
    # Change notifications (docs/mail-sources.md): created with a public URL, renewed a day
    # before they expire, ended for disabled sources. A notification only hurries the poll.
    mail_subscriptions_service.maintain(runtime)


@task("mail.poll_source")
def mail_poll_source(runtime: Runtime, source_id: int) -> None:
    # Deferred with unique_key "mail.poll:<id>"; the source's lease also keeps pollers apart.
    mail_polling.poll(runtime, source_id)


@task("mail.purge")
def mail_purge(runtime: Runtime) -> None:
    with session_scope(runtime.session_factory) as session:
        mail_intake.purge(
            session, now=runtime.clock(), retention_days=runtime.settings.mail_retention_days
        )


@task("schedules.detect_missed")
def schedules_detect_missed(runtime: Runtime) -> None:
    schedules.detect_missed_in(runtime.session_factory, now=runtime.clock())


@task("autotask.validate_mappings")
def autotask_validate_mappings(runtime: Runtime) -> None:
    # Sends nothing while the integration is disabled; one summary audit event per run.
    mapping.nightly(runtime)


@task("tickets.recover_creating")
def tickets_recover_creating(runtime: Runtime) -> None:
    # Creates whose outcome is unknown: search by reference and link, or after the quiet period
    # send again or give the run back. Sends nothing while the integration is disabled.
    ticketing.settle_pending(runtime)


@task("tickets.validate_links")
def tickets_validate_links(runtime: Runtime) -> None:
    # Deleted tickets (design 6B.3): one id-in query per 500 open links.
    ticketing.validate_open_links(runtime)


@task("tickets.sweep_duplicates")
def tickets_sweep_duplicates(runtime: Runtime) -> None:
    # Duplicate tickets (issue 9): one externalID-in query per 500 links of the last 30 days.
    ticket_duplicates.sweep(runtime)


@task("alerts.process")
def alerts_process(runtime: Runtime) -> None:
    # RMM alerts (docs/alerts.md): correlate new ones with Autotask, settle ticket creates,
    # send due notes for repeats. Mail intake records alerts in its own transaction and never
    # waits on Autotask; this is where Autotask is asked. Sends nothing while disabled.
    alert_correlation.process_pending(runtime)


@task("service_desk.process")
def service_desk_process(runtime: Runtime) -> None:
    # Service-desk mail (docs/service-desk.md): mail intake stores it and never waits on a PSA;
    # here each new mail becomes a ticket or a comment, once per Message-ID, and a failed one
    # is tried again when due. Sends nothing to a disabled connection.
    service_desk.process_pending(runtime)


@task("service_desk.relay")
def service_desk_relay(runtime: Runtime) -> None:
    # Public PSA comments on the desk's open tickets, mailed to the reporter (a mailbox's
    # switch, off by default): one notes read per mailbox and connection, each comment once.
    relay.relay_due(runtime)


@task("roundtrip.poll")
def roundtrip_poll(runtime: Runtime) -> None:
    # Polling is the truth (docs/round-trip.md): tickets changed since the watermark, one
    # request per 500; hint coverage; webhook states. Sends nothing while disabled.
    roundtrip_polling.cycle(runtime)


@task("roundtrip.fetch_hinted")
def roundtrip_fetch_hinted(runtime: Runtime) -> None:
    # The read that confirms each callout or webhook (and a deletion's second miss).
    roundtrip_polling.fetch_hinted(runtime)


# How a tick's syncs are run: here one after another, each under its lease; procrastinate
# workers pass their own (runner.py), which makes each sync's run a job under the sync's lock.
SyncRuns = Callable[[Runtime, list[str]], None]
SYNC_TICKS = ("sync.run_requested", "sync.run_due")


def sync_lock(sync_id: int) -> str:
    """The procrastinate lock (and queueing lock) of one sync's runs: by id, as a name changes."""
    return f"sync.run:{sync_id}"


def run_syncs(runtime: Runtime, names: list[str]) -> None:
    # One run per sync at a time: its lease keeps another worker, tick or CLI run apart.
    for name in names:
        try:
            sync_run.run(runtime, name)
        except (sync_run.SyncBusy, sync_run.UnknownSync):
            continue  # another run took the lease meanwhile, or the sync was deleted


@task("sync.run_requested")
def sync_run_requested(runtime: Runtime, runs: SyncRuns = run_syncs) -> None:
    # Runs asked for from the API or the Sync page.
    runs(runtime, sync_admin.take_requested(runtime.session_factory, runtime.clock()))


@task("sync.run_due")
def sync_run_due(runtime: Runtime, runs: SyncRuns = run_syncs) -> None:
    # Enabled syncs on their interval.
    runs(runtime, sync_admin.due(runtime.session_factory, runtime.clock()))


@task("sync.run")
def sync_run_one(runtime: Runtime, sync_id: int) -> None:
    # One sync's run as a procrastinate job, deferred by the ticks under sync_lock(sync_id).
    with runtime.session_factory() as session:
        row = sync_syncs.get(session, sync_id)
        name = row.name if row is not None else None
    if name is not None:
        run_syncs(runtime, [name])


def sync_ids(runtime: Runtime, names: list[str]) -> list[int]:
    """The ids of the syncs named, those deleted meanwhile left out."""
    found = []
    for name in names:
        try:
            found.append(sync_run.find(runtime, name).id)
        except sync_run.UnknownSync:
            continue
    return found
