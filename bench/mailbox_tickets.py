"""Service-desk mail to Jira tickets: mails per second, Jira requests per ticket and per reply,
and the delay from delivery to ticket with IMAP IDLE.

A private Dovecot on loopback (the test suite's configuration), the Jira Cloud emulator served
by uvicorn on a loopback port (the product speaks HTTP to it as to a Jira site), and one IMAP
source made a service-desk mailbox targeting the emulator's SUP project. Mail is read by the
watcher `ticketbridge mailbox watch` runs (services/mail/watch.py: IDLE, one poll per
announcement, then the desk's processing of what the poll stored), in this process.

1. throughput: --mails new requests (one conversation each) are APPENDed while the watcher is
   stopped (not timed); the watcher is started and timed until every one made its ticket;
2. replies: one reply to each of those conversations, delivered and timed the same way;
3. delay: --latency new mails, one at a time, each APPENDed once the previous one made its
   ticket; the delay runs from the end of the APPEND to the end of the handling (stored, Jira
   issue created, conversation recorded).

Requests are counted in the emulator's own request log, per phase. Loop protection is off
(one sender writes every mail here) and notifications are off (they reach no PSA).

    .venv/bin/python bench/mailbox_tickets.py [--mails 200] [--latency 30] [--backend sqlite]
    quick (under a minute): --mails 40 --latency 10 --backend sqlite
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

from support import (
    DatabaseUnavailable,
    add_database_options,
    bench_settings,
    chosen_backends,
    fresh_database,
    load_note,
)
from support.mail import DovecotServer, dovecot, mailbox

# support.mail put the repository root on sys.path, for the test tree
from tests.services.service_desk.conftest import mail
from tests.services.service_desk.e2e_support import JiraSide, Watching, add_desk_mailbox, watching
from tests.web.serving import serve
from ticketbridge.emulators.jira import create_app as create_jira
from ticketbridge.services.runtime import build_runtime


def requests_since(jira: JiraSide) -> Counter[str]:
    """The product's requests to Jira since the last call, by method and path shape."""
    log = jira.api.http.get("/_emulator/requests").json()
    jira.api.http.delete("/_emulator/requests").raise_for_status()
    shapes: Counter[str] = Counter()
    for entry in log:
        path = "/".join("N" if part.isdigit() else part for part in entry["path"].split("/"))
        shapes[f"{entry['method']} {path}"] += 1
    return shapes


def handle_all(watch: Watching, subjects: list[str]) -> tuple[float, Counter[str]]:
    """Seconds until every subject's line was printed, and the outcomes."""
    started = time.perf_counter()
    lines = [watch.until(subject) for subject in subjects]
    return time.perf_counter() - started, Counter(line.outcome for line in lines)


def shown(shapes: Counter[str], per: int) -> str:
    return ", ".join(f"{k} {v / per:.2f}" for k, v in shapes.most_common())


def run_backend(backend: str, args: argparse.Namespace, server: DovecotServer) -> None:
    client, user, password = mailbox(server)
    account = (user, password)
    with (
        tempfile.TemporaryDirectory() as work,
        fresh_database(backend, Path(work), args.postgres_url) as url,
        serve(create_jira(seed="empty")) as jira_url,
    ):
        runtime = build_runtime(bench_settings(url, Path(work) / "var"))
        jira = JiraSide(jira_url)
        add_desk_mailbox(runtime, jira, server, account, loop_limit=0)
        n = args.mails
        news = [mail(f"new{i}", subject=f"Request {i}") for i in range(n)]
        for raw in news:
            client.append("INBOX", raw)
        requests_since(jira)
        cpu0 = time.process_time()
        with watching(runtime) as watch:
            new_seconds, new_outcomes = handle_all(watch, [f"Request {i}" for i in range(n)])
            new_requests = requests_since(jira)
            for i in range(n):
                client.append(
                    "INBOX",
                    mail(
                        f"re{i}", subject=f"Re: Request {i}", in_reply_to=f"new{i}@customer.example"
                    ),
                )
            reply_seconds, reply_outcomes = handle_all(
                watch, [f"Re: Request {i}" for i in range(n)]
            )
            reply_requests = requests_since(jira)
            delays = []
            for i in range(args.latency):
                subject = f"Alone {i}"
                watch.wait_idle()  # as intake_idle.py: each mail to a watcher that idles
                client.append("INBOX", mail(f"alone{i}", subject=subject))
                delivered = time.perf_counter()
                watch.until(subject)
                delays.append(time.perf_counter() - delivered)
        cpu = time.process_time() - cpu0
        client.logout()
        jira.close()
        runtime.engine.dispose()
    delays.sort()
    p95 = delays[max(int(len(delays) * 0.95) - 1, 0)] if delays else 0.0
    print(f"\n{backend}:")
    print(
        f"  {n} new mails -> {dict(new_outcomes)} in {new_seconds:.1f} s: "
        f"{n / new_seconds:.1f} mails/s; Jira requests per ticket "
        f"{sum(new_requests.values()) / n:.2f} ({shown(new_requests, n)})"
    )
    print(
        f"  {n} replies -> {dict(reply_outcomes)} in {reply_seconds:.1f} s: "
        f"{n / reply_seconds:.1f} mails/s; Jira requests per reply "
        f"{sum(reply_requests.values()) / n:.2f} ({shown(reply_requests, n)})"
    )
    if delays:
        print(
            f"  delivery to ticket with IDLE, {len(delays)} mails one at a time: "
            f"p50 {statistics.median(delays) * 1000:,.0f} ms, p95 {p95 * 1000:,.0f} ms, "
            f"max {delays[-1] * 1000:,.0f} ms"
        )
    print(
        f"  this process used {cpu:.1f} s CPU (the emulator's thread included; Dovecot runs apart)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mails", type=int, default=200, help="new mails, then as many replies")
    parser.add_argument("--latency", type=int, default=30, help="mails timed one at a time")
    add_database_options(parser)
    args = parser.parse_args()
    print(f"Service-desk mail to Jira tickets: {load_note()}")
    with dovecot() as server:
        if server is None:
            return
        for backend in chosen_backends(args):
            try:
                run_backend(backend, args, server)
            except DatabaseUnavailable as exc:
                print(f"\n{backend}: skipped ({exc})")
    print(f"\nafterwards: {load_note()}")


if __name__ == "__main__":
    main()
