"""`ticketbridge serve --workers 2` as a real process on PostgreSQL: both worker processes
answer, /metrics adds up what each counted (prometheus-client's multiprocess directory), the
directory is emptied at start, and a worker that stops forgets its live gauges.

Which process answered is told by the metrics' own files: each worker writes its counters to
``counter_<pid>.db``, read here one file at a time."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.mmap_dict import MmapedDict, mmap_key
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy.orm import Session, sessionmaker

from tests.cli.processes import Command, free_port
from tests.conftest import TEST_SECRET_KEY
from tests.web.test_metrics import TOKEN, scrape, value

pytestmark = pytest.mark.postgres_only

HEALTH = {"method": "GET", "route": "/healthz", "status": "200"}
REQUESTS = "ticketbridge_http_requests_total"
STALE = 1000.0  # counted by a process of an earlier start; emptied away
BATCH = 16
MAX_BATCHES = 50


@dataclass
class Served:
    command: Command
    url: str
    metrics_dir: Path


def _write(path: Path, metric: str, sample: str, labels: dict[str, str], amount: float) -> None:
    """A file as a process of prometheus-client's multiprocess mode writes it."""
    values = MmapedDict(str(path))
    key = mmap_key(metric, sample, list(labels), list(labels.values()), "written by the test")
    values.write_value(key, amount, 0.0)
    values.close()


def _health_count(counter_file: Path, tmp_path: Path) -> float:
    """GET /healthz answers counted by the one process that wrote ``counter_file``."""
    alone = tmp_path / f"alone-{counter_file.stem}"
    alone.mkdir(parents=True)
    shutil.copy(counter_file, alone / counter_file.name)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(alone))
    return registry.get_sample_value(REQUESTS, HEALTH) or 0.0


@pytest.fixture
def served(database_url: str, db: sessionmaker[Session], tmp_path: Path) -> Iterator[Served]:
    if not database_url.startswith("postgresql"):
        pytest.skip("serve --workers needs procrastinate workers, on PostgreSQL")
    var = tmp_path / "var"
    metrics_dir = var / "metrics"
    metrics_dir.mkdir(parents=True)
    _write(metrics_dir / "counter_999999.db", "ticketbridge_http_requests", REQUESTS, HEALTH, STALE)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETBRIDGE_")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env |= {
        "TICKETBRIDGE_DATABASE_URL": database_url,
        "TICKETBRIDGE_SECRET_KEY": TEST_SECRET_KEY,
        "TICKETBRIDGE_VAR_DIR": str(var),
        "TICKETBRIDGE_WORKER_MODE": "procrastinate",
        "TICKETBRIDGE_METRICS_TOKEN": TOKEN,
        "TICKETBRIDGE_LOG_LEVEL": "INFO",
    }
    port = free_port()
    command = Command(
        ["serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"], env, tmp_path
    )
    try:
        command.wait_started(processes=2)  # each worker says so once its app is up
        yield Served(command, f"http://127.0.0.1:{port}", metrics_dir)
    finally:
        command.kill()


def test_two_workers_answer_and_metrics_add_up_what_both_counted(
    served: Served, tmp_path: Path
) -> None:
    assert not (served.metrics_dir / "counter_999999.db").exists()  # emptied at start
    sent = 0
    answered_by: dict[int, float] = {}
    with ThreadPoolExecutor(BATCH) as pool:
        for _ in range(MAX_BATCHES):  # new connections, spread by the kernel over both
            answers = list(pool.map(lambda _: httpx.get(f"{served.url}/healthz"), range(BATCH)))
            assert {a.status_code for a in answers} == {200}
            sent += BATCH
            answered_by = {
                int(path.stem.split("_")[1]): _health_count(path, tmp_path / f"read-{sent}")
                for path in served.metrics_dir.glob("counter_*.db")
            }
            if len([n for n in answered_by.values() if n > 0]) == 2:
                break
    assert len(answered_by) == 2 and all(answered_by.values()), answered_by
    assert served.command.process.pid not in answered_by  # the supervisor answers nothing
    assert sum(answered_by.values()) == sent

    # Any worker answers a scrape with the figures of both.
    assert value(scrape(served.url), REQUESTS, **HEALTH) == sent

    # A live gauge of each worker (PSA requests in flight), as one written during a request.
    in_flight = {"kind": "autotask", "connection": "autotask"}
    metric = "ticketbridge_psa_requests_in_flight"
    for pid in answered_by:
        _write(served.metrics_dir / f"gauge_livesum_{pid}.db", metric, metric, in_flight, 1.0)
    assert value(scrape(served.url), metric, **in_flight) == 2

    assert served.command.interrupt() == 0, served.command.stderr  # Ctrl+C

    left = sorted(path.name for path in served.metrics_dir.iterdir())
    assert not [name for name in left if name.startswith("gauge_live")]
    assert {f"counter_{pid}.db" for pid in answered_by} <= set(left)  # the totals stay
