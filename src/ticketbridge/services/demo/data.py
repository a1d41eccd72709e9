"""Deterministic demo data: customers, jobs across six products, 30 days of runs.

The same day gives the same data; runs carry external ids, so seeding twice adds nothing.
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from ticketbridge.core.statuses import RunSource, RunStatus
from ticketbridge.services.runs import ingest as run_ingest
from ticketbridge.services.runs.input import RunIn, RunObjectIn
from ticketbridge.storage.models import Run

CUSTOMERS = (
    "Acme Logistics",
    "Brightwater Dental",
    "Cobalt Engineering",
    "Delta Freight Partners",
    "Evergreen Schools",
    "Fairview Medical Group",
    "Granite Legal LLP",
    "Harbor Marine Supply",
    "Ironwood Architects",
    "Juniper Accounting",
    "Keystone Manufacturing",
    "Lakeside Veterinary",
)

# (product, job type, job name pattern, objects per run)
PRODUCT_JOBS = (
    (
        "Veeam Backup & Replication",
        "Backup",
        "{short} VM Backup",
        ("DC01", "FS01", "SQL01", "APP01"),
    ),
    (
        "Veeam Backup & Replication",
        "Backup Copy",
        "{short} Offsite Copy",
        ("DC01", "FS01", "SQL01"),
    ),
    ("Veeam Agent", "Agent Backup", "{short} Workstations", ("WS-RECEPTION", "WS-OFFICE2")),
    (
        "Veeam Backup for Microsoft 365",
        "M365 Backup",
        "{short} Microsoft 365",
        ("Exchange", "OneDrive", "SharePoint", "Teams"),
    ),
    ("Synology Hyper Backup", "Hyper Backup", "{short} NAS to USB", ("/volume1/shares",)),
    ("NAKIVO", "Backup", "{short} Hyper-V Backup", ("HV-VM1", "HV-VM2")),
    ("Acronis", "Cyber Protect", "{short} Server Image", ("SRV01",)),
)

ERRORS = {
    "Veeam Backup & Replication": (
        "Failed to create VM snapshot",
        "Target disk is full",
        "Error: Failed to connect to the backup repository",
    ),
    "Veeam Agent": ("USB Disk not connected", "Shadow copy creation failed"),
    "Veeam Backup for Microsoft 365": (
        "Mailbox not found",
        "Throttling by Microsoft 365: retry later",
    ),
    "Synology Hyper Backup": ("USB Disk not connected", "Destination is not accessible"),
    "NAKIVO": ("Failed to create VM snapshot", "Transporter is unavailable"),
    "Acronis": ("Backup location is out of space", "Volume Shadow Copy Service error"),
}
WARNINGS = (
    "Changed block tracking is disabled; a full read was performed",
    "Free space on the backup repository is below 10%",
    "Job finished with warnings: 1 file was skipped because it is in use",
)


def _short(name: str) -> str:
    return name.split()[0]


def demo_runs(now: datetime, *, days: int = 30) -> list[RunIn]:
    rng = random.Random(20261122)
    runs: list[RunIn] = []
    job_index = 0
    for c_index, customer in enumerate(CUSTOMERS):
        # 4 to 5 jobs per customer, about 50 in all
        for p_index in range(4 + (c_index % 2)):
            product, job_type, pattern, objects = PRODUCT_JOBS[
                (c_index + p_index) % len(PRODUCT_JOBS)
            ]
            job_name = pattern.format(short=_short(customer))
            job_index += 1
            failing_streak = job_index % 16 == 0  # a few jobs fail several days running
            hour = 19 + job_index % 5
            for day_offset in range(days, 0, -1):
                day = (now - timedelta(days=day_offset)).date()
                started = datetime.combine(day, time(hour % 24, (job_index * 7) % 60), now.tzinfo)
                if started > now:
                    continue
                roll = rng.random()
                if failing_streak and day_offset <= 4:
                    status = RunStatus.FAILED
                elif roll < 0.02:
                    status = RunStatus.MISSED
                elif roll < 0.07:
                    status = RunStatus.ERROR
                elif roll < 0.17:
                    status = RunStatus.WARNING
                else:
                    status = RunStatus.SUCCESS
                runs.append(
                    _run(rng, customer, product, job_type, job_name, objects, status, started)
                )
    return runs


def _run(
    rng: random.Random,
    customer: str,
    product: str,
    job_type: str,
    job_name: str,
    objects: tuple[str, ...],
    status: RunStatus,
    started: datetime,
) -> RunIn:
    remark = ""
    object_rows: list[RunObjectIn] = []
    if status is RunStatus.MISSED:
        remark = "No report received within the expected window."
    else:
        bad = rng.choice(objects)
        for name in objects:
            object_status, message = RunStatus.SUCCESS, ""
            if name == bad and status in (RunStatus.ERROR, RunStatus.FAILED):
                object_status, message = RunStatus.ERROR, rng.choice(ERRORS[product])
            elif name == bad and status is RunStatus.WARNING:
                object_status, message = RunStatus.WARNING, rng.choice(WARNINGS)
            object_rows.append(
                RunObjectIn(name=name, type="", status=object_status, message=message)
            )
        if status is RunStatus.FAILED:
            remark = f"Job failed: {object_rows[objects.index(bad)].message}"
        elif status is RunStatus.WARNING and rng.random() < 0.3:
            remark = "Job finished with warnings."
    duration = timedelta(minutes=10 + rng.randrange(90))
    return RunIn(
        customer=customer,
        job_name=job_name,
        backup_product=product,
        job_type=job_type,
        host=f"{_short(customer).upper()}-BKP01",
        status=status,
        started_at=started,
        ended_at=None if status is RunStatus.MISSED else started + duration,
        overall_remark=remark,
        external_id=f"demo:{job_name}:{started.date().isoformat()}",
        objects=object_rows,
    )


def seed(session: Session, now: datetime, *, review_older_than_days: int = 3) -> int:
    """Store the demo runs; older ones are marked reviewed, so Run Checks shows a day's queue."""
    results = run_ingest.store(session, demo_runs(now), source=RunSource.DEMO)
    created = [r.run_id for r in results if r.created]
    if created:
        session.execute(
            update(Run)
            .where(
                Run.id.in_(created),
                Run.started_at < now - timedelta(days=review_older_than_days),
            )
            .values(reviewed_at=now, reviewed_by="demo", review_note="reviewed in the demo data")
        )
    return len(created)
