"""Autotask round trip: callout receipt to run updated, callouts per second with retries, and
Autotask requests per poll cycle for 5,000 linked tickets.

The product serves /hooks from a uvicorn process of its own (one worker, as `ticketbridge
serve` runs), on a fresh database (SQLite, PostgreSQL or both). 5,000 runs are linked to 5,000
tickets in the Autotask emulator (in this process). Callout bodies are made by the emulator's
own callout code (Name-Value pairs, US Eastern times with eight fractional digits and an
hh:mm:ss offset), with HTTP basic credentials, sent over keep-alive connections.

1. **Receipt to run updated**: one callout at a time, each a new last activity of a linked
   ticket; the answer comes after the run's link was committed, so the request's round trip is
   the time from receipt to run updated (plus the loopback hop). Target: p99 under 50 ms.
2. **Sustained rate with 10x retries**: distinct changes, each sent 10 times, shuffled, over
   32 keep-alive connections by wrk (`apt-get install -y wrk`; C, so the load generator leaves
   the cores to the server) or, with `--client httpx`, an asyncio client in this process; the
   rate is the copies over the span of their receipt as the server recorded it, and each
   change must have been applied exactly once (the other nine copies are duplicates). Target:
   1,000 callouts/s. With it, the **CPU per callout** the server process(es) and, on
   PostgreSQL, their database backends used: a figure that other load on the machine moves
   far less than the rate, and that says how many cores 1,000/s takes. Then the receiving
   service alone (no HTTP, batches of 100) and `/healthz` through the same client.
3. **Requests per poll cycle**: polls over the 5,000 linked tickets with nothing, 100 and all
   of them changed since the watermark. Target: one request per 500 changed tickets.

    .venv/bin/python bench/round_trip.py [--backend sqlite|postgresql|both] [--changes 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
warnings.filterwarnings("ignore", message="Using `httpx`")

from sqlalchemy import func, make_url, select, text  # noqa: E402
from support import (  # noqa: E402
    DatabaseUnavailable,
    add_database_options,
    bench_settings,
    chosen_backends,
    fresh_database,
    load_note,
)

from tests.factories import add_runs  # noqa: E402
from tests.services.autotask_world import AutotaskWorld  # noqa: E402
from tests.services.tickets.support import Clock, prepare  # noqa: E402
from ticketbridge.core import ticket_links as links  # noqa: E402
from ticketbridge.emulators.autotask import dates as emulator_dates  # noqa: E402
from ticketbridge.emulators.autotask.callouts import build_request  # noqa: E402
from ticketbridge.services.connections import named  # noqa: E402
from ticketbridge.services.roundtrip import Incoming, callout_batch, config, polling  # noqa: E402
from ticketbridge.services.runtime import build_runtime  # noqa: E402
from ticketbridge.services.tickets import store as ticket_store  # noqa: E402
from ticketbridge.services.tickets.psa import roundtrip_connection  # noqa: E402
from ticketbridge.storage.models import HookRequest  # noqa: E402

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
# Each phase's changes are later than every change before it (an hour apart, the latency
# phase's one second apart within its hour), so that each is applied once, whichever tickets
# the phases share: a change older than what a ticket already had is rightly ignored, and the
# sustained phase would not apply every change once.
WARM_UP_HOUR, LATENCY_HOUR, SUSTAINED_HOUR, IN_PROCESS_HOUR = 1, 2, 3, 4
WARM_UP = 50
FIRST_TICKET = 100_000
RETRIES = 10
APPLICATION = "tb-bench-round-trip"
STATUSES = ("New", "In Progress", "Waiting Customer")


def serve_app() -> Any:
    """uvicorn's factory in the server process: the product app on the bench database."""
    from ticketbridge.web.app import create_app

    settings = bench_settings(os.environ["TB_BENCH_DB"], Path(os.environ["TB_BENCH_VAR"]))
    return create_app(settings)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(url: str, var: Path, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    if url.startswith("postgresql"):  # named, so that its backends' CPU can be counted
        url = make_url(url).update_query_dict({"application_name": APPLICATION})
        url = url.render_as_string(hide_password=False)
    env = os.environ | {"TB_BENCH_DB": url, "TB_BENCH_VAR": str(var)}
    command = [sys.executable, "-m", "uvicorn", "round_trip:serve_app", "--factory",
               "--app-dir", str(Path(__file__).parent), "--host", "127.0.0.1",
               "--port", str(port), "--log-level", "warning", "--no-access-log",
               "--workers", str(workers)]  # fmt: skip
    process = subprocess.Popen(command, env=env)
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return process, base
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the product server did not start")


def seed_tickets(world: AutotaskWorld, count: int, activity: datetime) -> list[int]:
    """``count`` tickets in the emulator, copies of a demo ticket, last changed at ``activity``."""
    store = world.transport.app.state.emulator.store  # type: ignore[attr-defined]
    template = dict(store.get("Tickets", 7001))
    stamp = emulator_dates.fmt(activity)
    ids = []
    for n in range(count):
        ticket_id = FIRST_TICKET + n
        row = template | {
            "ticketNumber": f"T20261120.{n + 10:04d}",
            "status": 1,
            "lastActivityDate": stamp,
            "completedDate": None,
            "completedByResourceID": None,
            "lastActivityResourceID": 31,
        }
        row.pop("id", None)
        store.insert("Tickets", row, ticket_id)
        ids.append(ticket_id)
    return ids


def change_tickets(world: AutotaskWorld, ids: list[int], status: int, when: datetime) -> None:
    store = world.transport.app.state.emulator.store  # type: ignore[attr-defined]
    for ticket_id in ids:
        row = store.get("Tickets", ticket_id)
        row["status"] = status
        row["lastActivityDate"] = emulator_dates.fmt(when)
        row["lastActivityResourceID"] = 31
        if status == 5:
            row["completedDate"], row["completedByResourceID"] = row["lastActivityDate"], 31


def link_runs(runtime: Any, db: Any, ids: list[int]) -> None:
    run_ids = add_runs(db, len(ids), step=timedelta(minutes=-1))
    with runtime.session_factory() as session:
        connection = named.get(session, roundtrip_connection(session))
        for run_id, ticket_id in zip(run_ids, ids, strict=True):
            link = links.linked(run_id, ticket_id, f"T{ticket_id}", "bench", NOW)
            session.add(ticket_store.new_row(link, connection))
        session.commit()


def callout_request(base: str, password: str, ticket_id: int, status: str, when: datetime) -> dict:
    callout = {"url": f"{base}/hooks/autotask/callouts/bench", "username": "autotask",
               "password": password, "format": "name_value", "http_method": "POST"}  # fmt: skip
    fields = {
        "id": str(ticket_id),
        "number": f"T{ticket_id}",
        "status": status,
        "created_datetime": emulator_dates.callout_time(emulator_dates.fmt(NOW)),
        "last_activity_datetime": emulator_dates.callout_time(emulator_dates.fmt(when)),
        "domain": "bench.example",
        "udf": "",
    }
    request: dict[str, Any] = build_request(callout, fields)
    return request


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def receipt_latency(base: str, password: str, ids: list[int], count: int, hour: int) -> list[float]:
    times = []
    with httpx.Client(timeout=10) as client:
        for n in range(count):
            when = NOW + timedelta(hours=hour, seconds=n)
            request = callout_request(base, password, ids[n % len(ids)], STATUSES[n % 3], when)
            start = time.perf_counter()
            answer = client.request(
                request["method"], request["url"], headers=request["headers"],
                content=request["body"],
            )  # fmt: skip
            times.append((time.perf_counter() - start) * 1000)
            assert answer.status_code == 200, answer.text
    return times


async def _send_all(requests: list[dict], concurrency: int) -> tuple[float, list[float], int]:
    queue: asyncio.Queue[dict] = asyncio.Queue()
    for request in requests:
        queue.put_nowait(request)
    times: list[float] = []
    failures = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal failures
        while not queue.empty():
            request = queue.get_nowait()
            start = time.perf_counter()
            answer = await client.request(
                request["method"], request["url"], headers=request["headers"],
                content=request["body"],
            )  # fmt: skip
            times.append((time.perf_counter() - start) * 1000)
            failures += answer.status_code != 200

    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        start = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    return elapsed, times, failures


def sustained(
    base: str, password: str, ids: list[int], changes: int, concurrency: int
) -> tuple[int, float, list[float], int]:
    """``changes`` distinct tickets changed once each, every callout sent RETRIES times."""
    when = NOW + timedelta(hours=SUSTAINED_HOUR)
    chosen = ids[:changes]
    requests = [
        callout_request(base, password, ticket_id, "Complete", when)
        for ticket_id in chosen
        for _ in range(RETRIES)
    ]
    random.Random(7).shuffle(requests)
    elapsed, times, failures = asyncio.run(_send_all(requests, concurrency))
    return len(requests), elapsed, times, failures


WRK_SCRIPT = """
local files, threads, count = {}, {}, 0
function setup(thread)
  thread:set("id", count)
  count = count + 1
  table.insert(threads, thread)
end
function init(args)
  reqs, n, sent, answered, failures, folder = {}, 0, 0, 0, 0, args[1]
  extra = wrk.format("GET", "/healthz")
  -- wrk calls request() once on its first thread before it starts, to check what it returns:
  -- that call gets an extra, or the first copy of that thread would never be sent.
  checking = id == 0
  local f = io.open(folder .. "/requests-" .. id .. ".bin", "rb")
  while true do
    local length = f:read("*l")
    if not length then break end
    n = n + 1
    reqs[n] = f:read(tonumber(length))
  end
  f:close()
end
function delay()
  if sent >= n then return 100 end  -- extras are not a flood taking the server's CPU
  return 0
end
function request()
  -- Past the end (other connections still wait for answers): /healthz, which stores nothing,
  -- so that the callouts sent are exactly the shuffled copies.
  if checking or sent >= n then
    checking = false
    return extra
  end
  sent = sent + 1
  return reqs[sent]
end
function response(status, headers, body)
  if string.sub(body, 1, 1) == "{" then return end  -- the answer to an extra /healthz
  answered = answered + 1
  if status ~= 200 then failures = failures + 1 end
  if answered == n then  -- every copy of this thread answered: tell the bench, stop
    io.open(folder .. "/done-" .. id, "w"):close()
    wrk.thread:stop()
  end
end
function done(summary, latency, requests)
  local failed = 0
  for _, thread in ipairs(threads) do failed = failed + thread:get("failures") end
  local e = summary.errors
  io.write(string.format("WRK %d %d %d %.3f %.3f %d\\n", summary.requests,
    summary.duration, failed, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    e.connect + e.read + e.write + e.timeout))
end
"""


def raw_request(base: str, request: dict) -> bytes:
    url = httpx.URL(request["url"])
    head = [f"{request['method']} {url.raw_path.decode()} HTTP/1.1", f"Host: {url.netloc.decode()}"]
    body = request["body"] or b""
    head += [f"{k}: {v}" for k, v in request["headers"].items() if k.lower() != "content-length"]
    head.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def sustained_wrk(
    runtime: Any, base: str, password: str, ids: list[int], changes: int, args: argparse.Namespace
) -> tuple[int, float, tuple[float, float], int]:
    """As ``sustained``, sent by wrk (C, a fraction of the CPU an asyncio client takes): each
    wrk thread sends its own share of the shuffled copies once. wrk runs for a duration, not a
    count: each thread leaves a file once all its copies are answered, and wrk is interrupted
    when every thread has; the rate is the copies over the span of their receipt times, as the
    server recorded them."""
    when = NOW + timedelta(hours=SUSTAINED_HOUR)
    requests = [
        callout_request(base, password, ticket_id, "Complete", when)
        for ticket_id in ids[:changes]
        for _ in range(RETRIES)
    ]
    random.Random(7).shuffle(requests)
    first = stored_callouts(runtime)[0]
    with tempfile.TemporaryDirectory() as folder:
        for n in range(args.wrk_threads):
            with open(Path(folder) / f"requests-{n}.bin", "wb") as out:
                for request in requests[n :: args.wrk_threads]:
                    raw = raw_request(base, request)
                    out.write(f"{len(raw)}\n".encode() + raw)
        script = Path(folder) / "callouts.lua"
        script.write_text(WRK_SCRIPT)
        wrk = subprocess.Popen(
            ["wrk", f"-t{args.wrk_threads}", f"-c{args.concurrency}", "-d600s", "--timeout",
             "60s", "-s",
             str(script), base + "/", "--", folder],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        wait_for_copies(wrk, runtime, first, len(requests), folder, args.wrk_threads)
        wrk.send_signal(signal.SIGINT)  # wrk stops and reports
        output, _ = wrk.communicate(timeout=30)
    line = next(x for x in output.splitlines() if x.startswith("WRK "))
    _, _, failures, p50, p99, errors = line.split()[1:]
    with runtime.session_factory() as session:
        start, end = session.execute(
            select(func.min(HookRequest.received_at), func.max(HookRequest.received_at)).where(
                HookRequest.id > first
            )
        ).one()
    span = (end - start).total_seconds()
    stored = stored_callouts(runtime, after=first)[1]
    if stored < len(requests):  # never sent: wrk sends a new one after a socket error
        print(f"  ({len(requests) - stored} of {len(requests)} copies never reached the "
              f"server: wrk counted {errors} socket errors)")  # fmt: skip
    return stored, span, (float(p50), float(p99)), int(failures)


def wait_for_copies(
    wrk: subprocess.Popen[str], runtime: Any, first: int, copies: int, folder: str, threads: int
) -> None:
    """Until every wrk thread has all its copies answered (a file each; a look at a folder
    takes no CPU from the server), or every copy is stored, or none more came for 10 s (wrk
    lost some to socket errors: it sends a new request on a new connection, not the old)."""
    done = [Path(folder) / f"done-{n}" for n in range(threads)]
    stored, grew = 0, time.monotonic()
    looked = grew
    while wrk.poll() is None and not all(marker.exists() for marker in done):
        time.sleep(0.1)
        if time.monotonic() - looked < 2:
            continue
        looked = time.monotonic()
        now_stored = stored_callouts(runtime, after=first)[1]
        if now_stored >= copies or (now_stored == stored and looked - grew > 10):
            return
        if now_stored != stored:
            stored, grew = now_stored, looked


def stored_callouts(runtime: Any, after: int = 0) -> tuple[int, int]:
    """The last request id, and how many are stored after ``after``."""
    with runtime.session_factory() as session:
        last, count = session.execute(
            select(func.max(HookRequest.id), func.count(HookRequest.id)).where(
                HookRequest.id > after
            )
        ).one()
        return int(last or 0), int(count)


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU time the processes have used so far (Linux /proc)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def server_pids(process: subprocess.Popen[bytes]) -> list[int]:
    """The uvicorn process and its workers."""
    pids, todo = [], [process.pid]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        for task in Path(f"/proc/{pid}/task").glob("*/children"):
            todo += [int(child) for child in task.read_text().split()]
    return pids


def database_pids(runtime: Any, application: str) -> list[int]:
    """The PostgreSQL backends serving the product server (by its application_name)."""
    if runtime.engine.dialect.name != "postgresql":
        return []
    with runtime.engine.connect() as connection:
        found = connection.execute(
            text("SELECT pid FROM pg_stat_activity WHERE application_name = :name"),
            {"name": application},
        )
        return [int(pid) for (pid,) in found]


def wrk_ceiling(base: str, connections: int, threads: int) -> float:
    done = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", "-d5s", base + "/healthz"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    line = next(x for x in done.stdout.splitlines() if x.startswith("Requests/sec:"))
    return float(line.split()[1])


def ceiling(base: str, total: int, concurrency: int) -> float:
    """The same client against /healthz: what this machine serves at all."""
    request = {"method": "GET", "url": base + "/healthz", "headers": {}, "body": b""}
    elapsed, _, _ = asyncio.run(_send_all([request] * total, concurrency))
    return total / elapsed


def in_process(runtime: Any, password: str, ids: list[int], changes: int) -> tuple[float, float]:
    """The receiving service without HTTP, in batches of 100 as the callout writer takes them
    under load: callouts per second, and CPU milliseconds per callout."""
    when = NOW + timedelta(hours=IN_PROCESS_HOUR)
    requests = [
        callout_request("http://in-process", password, ticket_id, "Waiting Customer", when)
        for ticket_id in ids[:changes]
        for _ in range(RETRIES)
    ]
    random.Random(11).shuffle(requests)
    calls = [("bench", Incoming.of(r["method"], "", r["headers"], r["body"])) for r in requests]
    start, cpu = time.perf_counter(), time.process_time()
    statuses = []
    for n in range(0, len(calls), 100):
        statuses += [a.status for a in callout_batch.receive_many(runtime, calls[n : n + 100])]
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert set(statuses) == {200}, set(statuses)
    return len(requests) / elapsed, cpu / len(requests) * 1000


def poll_figures(runtime: Any, world: AutotaskWorld, clock: Clock, ids: list[int]) -> list[str]:
    lines = []
    seq = world.requests()[-1]["seq"] if world.requests() else 0

    def one(label: str) -> None:
        nonlocal seq
        start = time.perf_counter()
        result = polling.poll(runtime)
        took = time.perf_counter() - start
        log = [r for r in world.requests() if r["seq"] > seq]
        seq = log[-1]["seq"] if log else seq
        assert result is not None and result.ok, result
        pages = max(1, -(-result.changed // 500))
        lines.append(
            f"  {label:34} changed {result.changed:5}  linked {result.linked:5}  "
            f"requests {len(log):3} ({pages} page(s) of changed tickets"
            f"{' + resource names' if len(log) > pages else ''}; target {pages})  {took:6.2f} s"
        )

    one("first poll (one day back)")
    clock.advance(minutes=5)
    one("nothing changed")
    clock.advance(minutes=5)
    change_tickets(world, ids[:100], 8, clock.now)
    clock.advance(seconds=30)
    one("100 changed")
    clock.advance(minutes=5)
    change_tickets(world, ids, 5, clock.now)
    clock.advance(seconds=30)
    one(f"all {len(ids)} changed (Complete)")
    return lines


def run(backend: str, args: argparse.Namespace) -> None:
    with (
        tempfile.TemporaryDirectory() as folder,
        fresh_database(backend, Path(folder), args.postgres_url) as url,
    ):
        settings = bench_settings(url, Path(folder))
        clock = Clock(NOW)
        runtime = build_runtime(settings, clock=clock)
        world = AutotaskWorld()
        world.attach(runtime)
        prepare(runtime, runtime.session_factory)
        ids = seed_tickets(world, args.tickets, NOW - timedelta(hours=1))
        link_runs(runtime, runtime.session_factory, ids)
        with runtime.session_factory() as session:
            _, password = config.create_callout(
                session, runtime.secret_box, name="bench", username="autotask",
                fmt="name_value", udf_filter=None, actor="bench", now=NOW,
            )  # fmt: skip
            session.commit()
        process, base = start_server(url, Path(folder), args.workers)
        try:
            warm_up = ids[-WARM_UP:]
            receipt_latency(base, password, warm_up, len(warm_up), WARM_UP_HOUR)
            latency = receipt_latency(base, password, ids, args.latency, LATENCY_HOUR)
            # The tickets after those the latency phase changed first, going round: each
            # change is later than any before it (the hours above), so with any number of
            # tickets every change is applied once; more changes than tickets cannot be.
            start = args.latency % len(ids)
            chosen = (ids[start:] + ids[:start])[: args.changes]
            pids = server_pids(process), database_pids(runtime, APPLICATION)
            cpu_before = cpu_seconds(pids[0]), cpu_seconds(pids[1])
            children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
            if args.client == "wrk":
                total, elapsed, loaded_pcts, failures = sustained_wrk(
                    runtime, base, password, chosen, len(chosen), args
                )
            else:
                total, elapsed, loaded, failures = sustained(
                    base, password, chosen, len(chosen), args.concurrency
                )
                loaded_pcts = (statistics.median(loaded), percentile(loaded, 0.99))
            cpu = cpu_seconds(pids[0]) - cpu_before[0], cpu_seconds(pids[1]) - cpu_before[1]
            children = resource.getrusage(resource.RUSAGE_CHILDREN)
            client_cpu = (children.ru_utime + children.ru_stime) - (
                children_before.ru_utime + children_before.ru_stime
            )
            if args.client == "wrk":
                top = wrk_ceiling(base, args.concurrency, args.wrk_threads)
            else:
                top = ceiling(base, total, args.concurrency)
        finally:
            process.terminate()
            process.wait(timeout=10)
        with runtime.session_factory() as session:
            applied = session.scalar(
                select(func.count())
                .select_from(HookRequest)
                .where(HookRequest.outcome == "applied")
            )
        service_rate, service_cpu = in_process(runtime, password, ids, args.changes)
        poll_lines = poll_figures(runtime, world, clock, ids)
        world.close()
        runtime.engine.dispose()

    rate, changes = total / elapsed, len(chosen)
    print(f"\n{backend}: {args.tickets} linked tickets; {load_note()}")
    print(
        f"  receipt to run updated ({args.latency} callouts, one at a time): "
        f"p50 {statistics.median(latency):5.1f} ms  p99 {percentile(latency, 0.99):5.1f} ms  "
        f"max {max(latency):5.1f} ms  (target p99 < 50 ms: "
        f"{'ok' if percentile(latency, 0.99) < 50 else 'OVER'})"
    )
    print(
        f"  {changes} changes x {RETRIES} retries, shuffled, {args.concurrency} "
        f"connections ({args.client}): "
        f"{total} callouts in {elapsed:5.1f} s = {rate:6.0f}/s (target 1,000/s: "
        f"{'ok' if rate >= 1000 else 'UNDER'}); p50 {loaded_pcts[0]:5.1f} ms "
        f"p99 {loaded_pcts[1]:6.1f} ms; non-200 answers {failures}"
    )
    per_callout = (cpu[0] + cpu[1]) / total * 1000
    database = f" + PostgreSQL {cpu[1] / total * 1000:.3f} ms" if cpu[1] else ""
    print(
        f"  CPU per callout under that load: {per_callout:.3f} ms (uvicorn "
        f"{cpu[0] / total * 1000:.3f} ms{database}) = {1000 / per_callout:6.0f} callouts/s "
        f"per core; the {args.client} client used {client_cpu:.1f} s of CPU"
        + (" (its CPU not counted: in this process)" if args.client == "httpx" else "")
    )
    print(
        f"  the same client against /healthz: {top:6.0f}/s (what this machine serves at all); "
        f"the receiving service without HTTP, batches of 100: {service_rate:6.0f}/s, "
        f"{service_cpu:.3f} ms CPU per callout"
    )
    expected = len(warm_up) + args.latency + changes
    print(
        f"  applied once each: {applied} applied for {expected} distinct changes "
        f"({'ok' if applied == expected else 'MISMATCH'})"
    )
    print("  requests per poll cycle:")
    for line in poll_lines:
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_database_options(parser)
    parser.add_argument("--tickets", type=int, default=5000)
    parser.add_argument("--latency", type=int, default=1000, help="callouts timed one by one")
    parser.add_argument("--changes", type=int, default=1000, help="distinct changes, x10 each")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument(
        "--client", choices=("wrk", "httpx"), default="wrk",
        help="load generator: wrk (apt-get install wrk; C, light on the CPU the server needs) "
        "or an asyncio httpx client in this process",
    )  # fmt: skip
    parser.add_argument("--wrk-threads", type=int, default=1)
    args = parser.parse_args()
    if not 0 < args.latency < 3600:  # one second apart within the latency phase's hour
        parser.error("--latency takes 1 to 3,599 callouts")
    if args.changes > args.tickets:
        parser.error("--changes: at most one change per ticket (--tickets)")
    print(
        f"Autotask round trip: product served by uvicorn ({args.workers} worker(s)), "
        "emulator in-process"
    )
    for backend in chosen_backends(args):
        try:
            run(backend, args)
        except DatabaseUnavailable as exc:
            print(f"\n{backend}: skipped ({exc})")


if __name__ == "__main__":
    main()
