"""PSA requests of a sync run against the seed's per-ticket method, on the same emulators.

5,000 tickets with 20,000 notes (every other one internal) and 2,000 files, all changed on
the Autotask side, are synced to an empty Jira by the real run (`services/sync/run.py`, SQLite,
both emulators served by uvicorn on loopback ports in a process of their own). Every request
is counted at the emulators: reads (queries, searches, GETs), file contents and writes.

The seed's method (seeds/002, "Step 1" and "Step 2" and its file helpers) is then counted on
the same Autotask emulator: the changed tickets and the changed notes listed page by page,
then one request per changed ticket (its re-fetch at depth=5: `GET Tickets/{id}`) and one per
note for the note's files (`GET /ticket-notes/{uuid}?depth=5`: `GET Tickets/{id}/Notes/{id}`).
Its reads on the target side (the files of each note again, for de-duplication by name) are
left out, which flatters it. Both methods download each file once and write the same copies,
so the comparison is of reads; file contents and writes are printed beside them.

Each size runs in a process of its own, so its peak RSS is its own: the figures at two sizes
show whether memory grows with the number of tickets. The smaller size is 2,000 tickets, not
a fifth: what is bounded fills first (SQLite's page cache of 2 MB per connection, a page of 500
tickets with its notes and files, the allocator's high-water mark of a page), so at 1,000 it is
not yet full and its filling would read as growth per ticket. ``--heap`` also traces Python's
allocations (tracemalloc: the run takes three to five times longer) and prints their peak,
which holds neither SQLite's cache nor the allocator's free memory.

    .venv/bin/python bench/sync.py                      # 5,000 tickets, and 2,000 for memory
    .venv/bin/python bench/sync.py --tickets 100 --small 0       # about half a minute
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the test tree's helpers

from support import bench_settings, fresh_database, load_note
from support.sync_world import Size, counts, serve_world

from tests.services.sync.support import SYNC, connect, make_sync
from ticketbridge.core.sync.sides import Direction, EntityKind
from ticketbridge.emulators.autotask import (
    DEMO_API_SECRET,
    DEMO_API_USER,
    DEMO_INTEGRATION_CODE,
)
from ticketbridge.services.runtime import build_runtime
from ticketbridge.services.sync import run as sync_run

TARGET = 100
ISSUE_SIZE = 5_000  # tickets
SMALL_SIZE = 2_000  # past where what is bounded is full (see the module's text)
API = "/ATServicesRest/V1.0"


def _rss_kib() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def seed_method(autotask_url: str, since: datetime) -> None:
    """The seed's reads, as it makes them (see the module's text)."""
    headers = {
        "ApiIntegrationCode": DEMO_INTEGRATION_CODE,
        "UserName": DEMO_API_USER,
        "Secret": DEMO_API_SECRET,
    }
    stamp = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    with httpx.Client(base_url=autotask_url, headers=headers, timeout=60) as http:

        def listing(entity: str) -> list[dict[str, Any]]:
            body = {"filter": [{"op": "gt", "field": "lastActivityDate", "value": stamp}]}
            found: list[dict[str, Any]] = []
            url: str | None = f"{API}/{entity}/query"
            while url:
                page = http.post(url, json=body).raise_for_status().json()
                found += page["items"]
                url = page["pageDetails"].get("nextPageUrl")
            return found

        tickets = listing("Tickets")
        for ticket in tickets:  # Step 1: each ticket re-fetched at depth=5
            http.get(f"{API}/Tickets/{ticket['id']}").raise_for_status()
        for note in listing("TicketNotes"):  # each note's files
            http.get(f"{API}/Tickets/{note['ticketID']}/Notes/{note['id']}").raise_for_status()


def one_size(size: Size, *, heap: bool = False) -> dict[str, Any]:
    """Serve the world, run the sync and the seed's method on it; the figures."""
    spawn = multiprocessing.get_context("spawn")
    ours, theirs = spawn.Pipe()
    world = spawn.Process(target=serve_world, args=(size, theirs), daemon=True)
    world.start()
    theirs.close()  # so a world that died is an EOFError here, not a wait forever
    urls = ours.recv()
    try:
        with (
            tempfile.TemporaryDirectory() as folder,
            fresh_database("sqlite", Path(folder), "") as url,
        ):
            return _measure(size, urls, Path(folder), url, heap=heap)
    finally:
        ours.send("stop")
        world.join(timeout=60)


def _measure(
    size: Size, urls: dict[str, Any], folder: Path, url: str, *, heap: bool
) -> dict[str, Any]:
    runtime = build_runtime(bench_settings(url, folder))
    connect(runtime, autotask_url=urls["autotask"], jira_url=urls["jira"])
    make_sync(runtime, urls["acme"])
    since = runtime.clock() - timedelta(hours=1)  # the sync's start date
    for side in ("autotask", "jira"):
        counts(urls[side], clear=True)
    rss_before = _rss_kib()
    peak = [rss_before]
    done = threading.Event()

    def sample() -> None:  # the process's high-water mark also holds the set-up's peak
        while not done.wait(0.05):
            peak[0] = max(peak[0], _rss_kib())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    if heap:
        tracemalloc.start()
    started = time.perf_counter()
    report = sync_run.run(runtime, SYNC)
    wall = time.perf_counter() - started
    heap_peak = tracemalloc.get_traced_memory()[1] if heap else None
    tracemalloc.stop()
    done.set()
    sampler.join()
    peak_rss = max(peak[0], _rss_kib())
    # SQLite keeps up to 2 MiB of the file's pages per open connection: bounded, but filling.
    database = Path(str(make_url(url).database))
    db_bytes = sum(p.stat().st_size for p in database.parent.glob(database.name + "*"))
    connections = runtime.engine.pool.checkedin()  # type: ignore[attr-defined]
    ours = {side: counts(urls[side], clear=True) for side in ("autotask", "jira")}
    a_to_b = {
        kind.value: report.counts.of(Direction.A_TO_B, kind).created
        for kind in (EntityKind.TICKET, EntityKind.NOTE, EntityKind.ATTACHMENT)
    }
    seed_started = time.perf_counter()
    seed_method(urls["autotask"], since)
    seed_wall = time.perf_counter() - seed_started
    seed = counts(urls["autotask"], clear=True)
    return {
        "size": vars(size),
        "status": report.status,
        "errors": report.errors[:5],
        "created": a_to_b,
        "wall": wall,
        "seed_wall": seed_wall,
        "rss_before_mib": rss_before / 1024,
        "peak_rss_mib": peak_rss / 1024,
        "heap_peak_mib": None if heap_peak is None else heap_peak / 1024 / 1024,
        "db_mib": db_bytes / 1024 / 1024,
        "connections": connections,
        "ours": ours,
        "seed": seed,
    }


def _sum(found: dict[str, Any], kind: str) -> int:
    return sum(int(side["counts"].get(kind, 0)) for side in found.values())


def _print(figures: dict[str, Any], show_paths: int) -> float:
    size = Size(**figures["size"])
    ours, seed = figures["ours"], {"autotask": figures["seed"]}
    reads, seed_reads = _sum(ours, "read"), _sum(seed, "read")
    files, writes = _sum(ours, "file"), _sum(ours, "write")
    # A create read back (POST issue, then GET issue/{id}) would be one read per copy: the
    # sync asks for none. What is left: the first internal note's read of its project's type.
    single = int(ours["jira"]["paths"].get("read GET /rest/api/N/issue/N", 0))
    ratio = seed_reads / max(reads, 1)
    print(f"\n== {size} changed on Autotask, synced to an empty Jira")
    print(f"run: {figures['status']}, created on Jira: {figures['created']}")
    for error in figures["errors"]:
        print(f"  error: {error}")
    print(f"{'':<28}{'reads':>9}{'per ticket':>12}{'files':>8}{'writes':>9}")
    print(
        f"{'seed method (source only)':<28}{seed_reads:>9,}{seed_reads / size.tickets:>12.3f}"
        f"{size.files:>8,}{'same':>9}"
    )
    for side in ("autotask", "jira"):
        found = ours[side]["counts"]
        print(
            f"{'this sync, ' + side:<28}{found.get('read', 0):>9,}"
            f"{found.get('read', 0) / size.tickets:>12.3f}{found.get('file', 0):>8,}"
            f"{found.get('write', 0):>9,}"
        )
    print(f"{'this sync, both':<28}{reads:>9,}{reads / size.tickets:>12.3f}{files:>8,}{writes:>9,}")
    print(
        f"of which {single:,} are single-issue GETs on Jira (not a read-back per copy: "
        f"{figures['created']['ticket']:,} copies made)"
    )
    verdict = "OK" if ratio >= TARGET else "BELOW TARGET"
    print(
        f"all reads: {reads:,} ({reads / size.tickets:.3f} per ticket), {ratio:,.0f}x fewer "
        f"than the seed's (target >= {TARGET}x): {verdict}"
    )
    print(
        f"wall: sync {figures['wall']:.1f} s (the seed's reads alone {figures['seed_wall']:.1f} s)"
    )
    print(
        f"memory: RSS {figures['rss_before_mib']:.0f} MiB before the run, "
        f"peak {figures['peak_rss_mib']:.0f} MiB during it (sampled every 50 ms)"
    )
    print(
        f"SQLite: a {figures['db_mib']:.1f} MiB file, {figures['connections']} pooled "
        "connection(s) (a page cache of up to 2 MiB each)"
    )
    if figures["heap_peak_mib"] is not None:
        print(f"Python heap: peak {figures['heap_peak_mib']:.1f} MiB allocated during the run")
    if show_paths:
        print("where this sync's requests went:")
        paths = [(n, p) for side in ours.values() for p, n in side["paths"].items()]
        for count, path in sorted(paths, reverse=True)[:show_paths]:
            print(f"  {count:>7,}  {path}")
    return ratio


def _growth(grown: list[tuple[int, float, float | None]]) -> None:
    """Each size's growth, and what an extra ticket adds between the two sizes."""
    (big, big_rss, big_heap), (little, little_rss, little_heap) = grown
    print("\nmemory growth during the run (peak less before):")
    print(f"{'':<24}{f'{little:,} tickets':>16}{f'{big:,} tickets':>16}{'per extra ticket':>20}")
    rows = [("RSS", little_rss, big_rss)]
    if big_heap is not None and little_heap is not None:
        rows.append(("Python heap (traced)", little_heap, big_heap))
    for name, small_mib, big_mib in rows:
        per = (big_mib - small_mib) * 1024 / (big - little)
        print(
            f"{name:<24}{f'+{small_mib:.1f} MiB':>16}{f'+{big_mib:.1f} MiB':>16}"
            f"{f'{per:.2f} KiB':>20}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=ISSUE_SIZE)
    parser.add_argument("--notes", type=int, help="default: 4 per ticket")
    parser.add_argument("--files", type=int, help="default: 2 per 5 tickets")
    parser.add_argument(
        "--small",
        type=int,
        help="a second, smaller size for memory (default: 2,000, or a fifth of a smaller "
        "--tickets; 0: none)",
    )
    parser.add_argument(
        "--heap", action="store_true", help="also trace the Python heap's peak (slower)"
    )
    parser.add_argument("--paths", type=int, default=8, help="busiest request paths to show")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    notes = args.notes if args.notes is not None else 4 * args.tickets
    files = args.files if args.files is not None else 2 * args.tickets // 5
    if args.one:  # a child: one size, its figures as JSON on the last line
        print(json.dumps(one_size(Size(args.tickets, notes, files), heap=args.heap)))
        return
    print(f"{os.cpu_count()} cores; {load_note()} at the start")
    small = args.small if args.small is not None else SMALL_SIZE
    if args.small is None and args.tickets <= SMALL_SIZE:
        small = args.tickets // 5
    sizes = [Size(args.tickets, notes, files)]
    if small:
        scale = small / args.tickets
        sizes.append(Size(small, round(notes * scale), round(files * scale)))
    ratios, grown = [], []
    for size in sizes:
        command = [sys.executable, __file__, "--one", f"--tickets={size.tickets}"]
        command += [f"--notes={size.notes}", f"--files={size.files}"]
        command += ["--heap"] if args.heap else []
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            print(done.stdout[-2000:], done.stderr[-4000:])
            raise SystemExit(f"the run of {size} failed")
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        ratios.append(_print(figures, args.paths if size is sizes[0] else 0))
        rss = figures["peak_rss_mib"] - figures["rss_before_mib"]
        grown.append((size.tickets, rss, figures["heap_peak_mib"]))
    if len(grown) == 2:
        _growth(grown)
    print(f"{load_note()} at the end")
    # The target is the issue's size's: a few fixed reads weigh on a quick, small run.
    if args.tickets >= ISSUE_SIZE and ratios[0] < TARGET:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
