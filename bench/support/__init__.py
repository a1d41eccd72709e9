"""What the benchmarks share: throw-away databases on both backends, and realistic runs.

SQLite lives in a file under a temporary directory; PostgreSQL in a schema of its own (as the
test suite does), dropped at the end. PostgreSQL comes from TICKETBRIDGE_TEST_DATABASE_URL, or
the local `test` database, or --postgres-url.
"""

from __future__ import annotations

import argparse
import os
import random
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

from ticketbridge.settings import Settings
from ticketbridge.storage.db import make_engine
from ticketbridge.storage.migrate import upgrade

BACKENDS = ("postgresql", "sqlite")
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SECRET_KEY = "bench-secret-key-" + "x" * 40
# A fixed "now", so that every run of a benchmark stores and shows the same data.
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)

PRODUCTS = (
    ("Veeam Backup & Replication", "Backup", "VM Backup", ("DC01", "FS01", "SQL01", "APP01")),
    ("Veeam Backup & Replication", "Backup Copy", "Offsite Copy", ("DC01", "FS01", "SQL01")),
    ("Veeam Agent", "Agent Backup", "Workstations", ("WS-RECEPTION", "WS-OFFICE2", "WS-CEO")),
    ("Veeam Backup for Microsoft 365", "M365 Backup", "Microsoft 365", ("Exchange", "OneDrive")),
    ("Synology Hyper Backup", "Hyper Backup", "NAS to USB", ("/volume1/shares",)),
    ("NAKIVO", "Backup", "Hyper-V Backup", ("HV-VM1", "HV-VM2", "HV-VM3", "HV-VM4", "HV-VM5")),
    ("Acronis", "Cyber Protect", "Server Image", ("SRV01", "SRV02")),
)
MESSAGES = (
    "Failed to create VM snapshot",
    "Target disk is full",
    "USB Disk not connected",
    "Error: Failed to connect to the backup repository",
    "Free space on the backup repository is below 10%",
)
CUSTOMERS = 50
JOBS_PER_CUSTOMER = 4


class DatabaseUnavailable(RuntimeError):
    pass


def add_database_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--backend", choices=(*BACKENDS, "both"), default="both", help="default: both"
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("TICKETBRIDGE_TEST_DATABASE_URL", DEFAULT_PG_URL),
        help="a database in which a throw-away schema is created and dropped",
    )


def load_note() -> str:
    """Other work on the machine skews every figure; say how busy it was."""
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} cores"


def chosen_backends(args: argparse.Namespace) -> list[str]:
    return list(BACKENDS) if args.backend == "both" else [args.backend]


@contextmanager
def fresh_database(backend: str, workdir: Path, postgres_url: str) -> Iterator[str]:
    """A migrated, empty database; yields its URL and removes it afterwards."""
    if backend == "sqlite":
        url = f"sqlite:///{workdir / 'bench.db'}"
        upgrade(url)
        yield url
        return
    admin = make_engine(postgres_url)
    try:
        with admin.connect() as connection:
            connection.execute(text("select 1"))
    except Exception as exc:  # any failure to connect means "no PostgreSQL here"
        admin.dispose()
        raise DatabaseUnavailable(f"PostgreSQL unreachable: {exc}") from exc
    schema = f"tb_bench_{uuid.uuid4().hex[:10]}"
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = make_url(postgres_url).update_query_dict({"options": f"-csearch_path={schema}"})
        rendered = url.render_as_string(hide_password=False)
        upgrade(rendered)
        yield rendered
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def bench_settings(database_url: str, var_dir: Path) -> Settings:
    return Settings(
        var_dir=var_dir,
        database_url=database_url,
        secret_key=SECRET_KEY,  # type: ignore[arg-type]
        _env_file=None,  # type: ignore[call-arg]
    )


def realistic_runs(
    count: int, *, now: datetime = NOW, seed: int = 20261120
) -> Iterator[dict[str, Any]]:
    """`count` runs as the API receives them, oldest first: 50 customers x 4 daily jobs, mostly
    success, 0 to 5 objects each, unique external ids. Deterministic for a given seed."""
    rng = random.Random(seed)
    trades = ("Dental", "Legal", "Freight", "Schools")
    customers = [f"Customer {c:02d} {rng.choice(trades)}" for c in range(CUSTOMERS)]
    jobs = [
        (customer, product)
        for customer in customers
        for product in rng.sample(PRODUCTS, JOBS_PER_CUSTOMER)
    ]
    days = -(-count // len(jobs))
    produced = 0
    for day_offset in range(days, 0, -1):
        day = (now - timedelta(days=day_offset - 1)).date()
        for index, (customer, (product, job_type, job_name, objects)) in enumerate(jobs):
            if produced == count:
                return
            started = datetime.combine(day, time(index % 6, (index * 7) % 60), UTC)
            produced += 1
            yield _run(rng, produced, customer, product, job_type, job_name, objects, started)


def _run(
    rng: random.Random,
    serial: int,
    customer: str,
    product: str,
    job_type: str,
    job_name: str,
    objects: tuple[str, ...],
    started: datetime,
) -> dict[str, Any]:
    roll = rng.random()
    status = (
        "failed"
        if roll < 0.02
        else "error"
        if roll < 0.06
        else "warning"
        if roll < 0.15
        else "success"
    )
    chosen = rng.sample(objects, min(len(objects), rng.randrange(6)))
    bad = chosen[0] if chosen and status != "success" else None
    return {
        "customer": customer,
        "job_name": f"{customer.split()[1]} {job_name}",
        "backup_product": product,
        "job_type": job_type,
        "host": f"BKP-{customer.split()[1]}",
        "status": status,
        "started_at": started.isoformat(),
        "ended_at": (started + timedelta(minutes=5 + rng.randrange(120))).isoformat(),
        "overall_remark": "" if status == "success" else f"Job finished with status {status}.",
        "external_id": f"bench-{serial:08d}",
        "objects": [
            {
                "name": name,
                "type": "VM" if product != "Synology Hyper Backup" else "Folder",
                "status": status if name == bad else "success",
                "message": rng.choice(MESSAGES) if name == bad else "",
            }
            for name in chosen
        ],
    }
