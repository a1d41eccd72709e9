"""Delay from delivery to stored mail with an IMAP IDLE watcher, against a real Dovecot.

A private Dovecot on loopback (the test suite's configuration) and one imap source watched by
services.mail_idle.IdleWatcher. Mails are APPENDed one at a time, each once the watcher idles
again; the delay is measured from the end of the APPEND to the end of the poll that stored it
(fetch, store, parse, route, watermark, MOVE). Without IDLE the same mail waits for the periodic
poll: up to the source's interval (60 s by default), 30 s on average.

    .venv/bin/python bench/intake_idle.py [--count 30] [--backend sqlite]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

from support import (
    NOW,
    DatabaseUnavailable,
    add_database_options,
    bench_settings,
    chosen_backends,
    fresh_database,
    load_note,
)
from support.mail import DovecotServer, add_imap_source, dovecot, mailbox

# support.mail put the repository root on sys.path, for the test tree
from tests.services.mail_support import report_mail
from ticketbridge.services.mail import idle as mail_idle
from ticketbridge.services.runtime import build_runtime


class Signals:
    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.changed = threading.Condition()

    def __call__(self, _source_id: int, event: str) -> None:
        with self.changed:
            self.counts[event] = self.counts.get(event, 0) + 1
            self.changed.notify_all()

    def wait_for(self, event: str, times: int) -> None:
        with self.changed:
            if not self.changed.wait_for(lambda: self.counts.get(event, 0) >= times, 60):
                raise SystemExit(f"no {event!r} x{times} within 60 s: {self.counts}")


def run_backend(backend: str, args: argparse.Namespace, server: DovecotServer) -> None:
    client, user, password = mailbox(server)
    with (
        tempfile.TemporaryDirectory() as work,
        fresh_database(backend, Path(work), args.postgres_url) as url,
    ):
        runtime = build_runtime(bench_settings(url, Path(work) / "var"))
        source_id = add_imap_source(runtime, server, user, password)
        signals = Signals()
        watcher = mail_idle.IdleWatcher(runtime, source_id, observer=signals).start()
        delays = []
        cpu0 = time.process_time()
        try:
            for n in range(1, args.count + 1):
                signals.wait_for(mail_idle.IDLING, n)
                client.append("INBOX", report_mail(n, job=f"Job {n}"))
                delivered = time.perf_counter()
                signals.wait_for(mail_idle.POLLED, n)
                delays.append(time.perf_counter() - delivered)
        finally:
            watcher.stop()
            client.logout()
            runtime.engine.dispose()
        cpu = time.process_time() - cpu0
    delays.sort()
    p95 = delays[max(int(len(delays) * 0.95) - 1, 0)]
    print(f"\n{backend}: {len(delays)} mails, one at a time, delivery to stored")
    print(
        f"  median {statistics.median(delays) * 1000:,.0f} ms, p95 {p95 * 1000:,.0f} ms, "
        f"max {delays[-1] * 1000:,.0f} ms (periodic poll alone: up to 60 s, 30 s on average)"
    )
    print(f"  this process used {cpu:.2f} s CPU (Dovecot runs apart)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=30)
    add_database_options(parser)
    args = parser.parse_args()
    print(f"IMAP IDLE intake delay: {os.cpu_count()} cores; {load_note()}; clock {NOW.date()}")
    with dovecot() as server:
        if server is None:
            return
        for backend in chosen_backends(args):
            try:
                run_backend(backend, args, server)
            except DatabaseUnavailable as exc:
                print(f"\n{backend}: skipped ({exc})")


if __name__ == "__main__":
    main()
