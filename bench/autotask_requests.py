"""Autotask requests per operation, counted in the emulator's own request log.

The product's services run against the Autotask emulator in-process (a fresh SQLite database
in a temporary folder). Targets (issue 4): a reference refresh costs 1 request once the zone is
known; validating 1,000 customer mappings costs at most 3.

    .venv/bin/python bench/autotask_requests.py
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from support import bench_settings

from ticketbridge.emulators.autotask import (
    DEMO_API_SECRET,
    DEMO_API_USER,
    DEMO_INTEGRATION_CODE,
    InProcessTransport,
    create_app,
)
from ticketbridge.services.connections import checks as integration_checks
from ticketbridge.services.connections import mapping, named, reference
from ticketbridge.services.connections import settings as integration_settings
from ticketbridge.services.runs import catalog
from ticketbridge.services.runtime import Runtime, build_runtime
from ticketbridge.storage.migrate import upgrade
from ticketbridge.storage.models import CompanyMappingRow, utcnow

EMULATOR = "http://emulator.bench"
MAPPINGS = 1_000


def _runtime(folder: Path, transport: httpx.BaseTransport) -> Runtime:
    url = f"sqlite:///{folder / 'bench.db'}"
    upgrade(url)
    runtime = build_runtime(bench_settings(url, folder))
    runtime.psa_transport = transport
    with runtime.session_factory() as session:
        integration_settings.save(
            session,
            runtime.secret_box,
            {
                "enabled": True,
                "environment": "custom",
                "api_host": EMULATOR,
                "username": DEMO_API_USER,
                "secret": DEMO_API_SECRET,
                "integration_code": DEMO_INTEGRATION_CODE,
                "base_url": "https://ticketbridge.example.com",
            },
            actor="bench",
            now=utcnow(),
            kind="autotask",
        )
        session.commit()
    return runtime


def _add_mappings(runtime: Runtime) -> None:
    mapping.map_customer(runtime, _customer(runtime, "Mapped 0"), 101, actor="bench")
    with runtime.session_factory() as session:
        connection = named.get(session, None)
        for index in range(1, MAPPINGS):
            customer = catalog.create_customer(session, f"Mapped {index}", actor="bench")
            session.flush()
            session.add(
                CompanyMappingRow(
                    connection_id=connection.id,
                    customer_id=customer.id,
                    company_id=700_000 + index,
                    company_name=f"Company {index}",
                )
            )
        session.commit()


def _customer(runtime: Runtime, name: str) -> int:
    with runtime.session_factory() as session:
        customer_id = catalog.create_customer(session, name, actor="bench").id
        session.commit()
    return customer_id


def _measure(log: httpx.Client, operation: Callable[[], Any]) -> tuple[int, float, list[str]]:
    log.delete("/_emulator/requests")
    start = time.perf_counter()
    operation()
    elapsed = time.perf_counter() - start
    requests = log.get("/_emulator/requests").json()["requests"]
    return len(requests), elapsed, [f"{r['method']} {r['path']}" for r in requests]


def main() -> None:
    transport = InProcessTransport(create_app(seed="demo"))
    log = httpx.Client(transport=transport, base_url=EMULATOR)
    rows: list[tuple[str, int, float, str, list[str]]] = []
    with tempfile.TemporaryDirectory() as folder:
        runtime = _runtime(Path(folder), transport)
        _add_mappings(runtime)
        runtime.psa_caches.clear()  # cold: nothing discovered yet

        def test() -> None:
            assert integration_checks.test_connection(runtime, actor="bench").ok

        def refresh() -> None:
            reference.refresh(runtime, actor="bench")

        def validate() -> None:
            summary = mapping.validate(runtime, actor="bench")
            assert summary.checked == MAPPINGS

        count, seconds, paths = _measure(log, test)
        rows.append(("Test connection (cold)", count, seconds, "-", paths))
        count, seconds, paths = _measure(log, refresh)
        rows.append(("Refresh reference data (zone known)", count, seconds, "1", paths))
        count, seconds, paths = _measure(log, validate)
        rows.append((f"Validate {MAPPINGS:,} mappings (zone known)", count, seconds, "<= 3", paths))
        runtime.psa_caches.clear()
        count, seconds, paths = _measure(log, validate)
        rows.append((f"Validate {MAPPINGS:,} mappings (cold)", count, seconds, "<= 3", paths))
        runtime.engine.dispose()
    log.close()
    transport.close()

    print(f"{'operation':<40} {'requests':>8} {'target':>7} {'time':>9}")
    for name, count, seconds, target, _ in rows:
        print(f"{name:<40} {count:>8} {target:>7} {seconds * 1000:>7.0f} ms")
    print()
    for name, _, _, _, paths in rows:
        print(f"{name}: {', '.join(paths)}")
    failed = [name for name, count, _, target, _ in rows if target == "1" and count != 1]
    failed += [name for name, count, _, target, _ in rows if target == "<= 3" and count > 3]
    if failed:
        raise SystemExit("over target: " + "; ".join(failed))


if __name__ == "__main__":
    main()
