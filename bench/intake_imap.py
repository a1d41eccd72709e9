"""Mails per second from a real Dovecot to stored mail and runs, through the production poller.

The parser fixture corpus (tests/fixtures/mail/*/*.eml) is repeated to --count mails (default
2,000), each copy with a Message-ID of its own so de-duplication keeps them all, and APPENDed to
a private Dovecot on loopback (the test suite's configuration; not timed). A matching rule files
every report under one customer, so each run report becomes a run. Then one IMAP source is polled
(services.mail_polling.poll: fetch in batches, store raw compressed, parse, route, persist the
watermark, MOVE to the processed folder) and timed, on SQLite and PostgreSQL.

Copies of one fixture report the same job and session, so they update one run (retry semantics):
the run count stays small while every mail is stored, parsed and routed.

The parse share is the CPU time the same mails take to parse alone (parsed again after the poll,
in this process), and "without parsing" is the mail count over the wall time less that. With
--baseline REV the same is measured first with the code of that git revision (exported to a
temporary directory, run in a child process), so old and new see the same machine load.

    .venv/bin/python bench/intake_imap.py [--count 2000] [--batch 200] [--backend sqlite]
                                          [--baseline HEAD~1]
"""

from __future__ import annotations

import argparse
import io
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from itertools import cycle, islice
from pathlib import Path

from sqlalchemy import func, select
from support import (
    NOW,
    DatabaseUnavailable,
    add_database_options,
    bench_settings,
    chosen_backends,
    fresh_database,
    load_note,
)
from support.mail import ROOT, DovecotServer, add_imap_source, dovecot, mailbox

from ticketbridge.connectors.parsers.registry import parse_message
from ticketbridge.services.mail import polling as mail_polling
from ticketbridge.services.runtime import build_runtime
from ticketbridge.storage.models import MailMessage, Run

FIXTURES = ROOT / "tests" / "fixtures" / "mail"
_MESSAGE_ID = re.compile(rb"^message-id:.*\r?\n", re.I | re.M)


def corpus(count: int) -> list[bytes]:
    originals = [path.read_bytes() for path in sorted(FIXTURES.glob("*/*.eml"))]
    mails = []
    for n, raw in enumerate(islice(cycle(originals), count)):
        head, sep, body = (
            raw.partition(b"\n\n") if b"\r\n\r\n" not in raw else raw.partition(b"\r\n\r\n")
        )
        head = _MESSAGE_ID.sub(b"", head + b"\n").rstrip(b"\r\n")
        mails.append(f"Message-ID: <bench-{n}@bench.example>\r\n".encode() + head + sep + body)
    return mails


def run_backend(
    backend: str, args: argparse.Namespace, server: DovecotServer, mails: list[bytes]
) -> None:
    client, user, password = mailbox(server)
    for raw in mails:
        client.append("INBOX", raw)
    client.logout()
    with (
        tempfile.TemporaryDirectory() as work,
        fresh_database(backend, Path(work), args.postgres_url) as url,
    ):
        runtime = build_runtime(bench_settings(url, Path(work) / "var"))
        source_id = add_imap_source(runtime, server, user, password, batch_size=args.batch)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        result = mail_polling.poll(runtime, source_id)
        wall = time.perf_counter() - wall0
        cpu = time.process_time() - cpu0
        with runtime.session_factory() as session:
            stored = session.scalar(select(func.count(MailMessage.id))) or 0
            runs = session.scalar(select(func.count(Run.id))) or 0
            states = dict(
                session.execute(
                    select(MailMessage.state, func.count()).group_by(MailMessage.state)
                ).all()
            )
        runtime.engine.dispose()
    if result.error:
        raise SystemExit(f"{backend}: polling failed: {result.error}")
    parse0 = time.process_time()
    for raw in mails:
        parse_message(raw)
    parse = time.process_time() - parse0
    print(f"\n{backend}: {len(mails)} mails from Dovecot in {wall:.2f} s")
    print(
        f"  {len(mails) / wall:,.0f} mails/s wall, {len(mails) / cpu:,.0f} mails/s per core (CPU)"
    )
    print(
        f"  parsing {parse:.2f} s CPU ({parse / cpu:.0%} of the intake's CPU); without it "
        f"{len(mails) / max(wall - parse, 1e-9):,.0f} mails/s wall"
    )
    print(f"  stored {stored} mails ({states}); {runs} runs")
    print(f"  batch size {args.batch}; this process used {cpu:.2f} s CPU (Dovecot runs apart)")


def run_baseline(revision: str, argv: list[str]) -> None:
    """This benchmark run by the code of `revision` (its src/), in a child process."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", revision, "src"], check=True, capture_output=True
    ).stdout
    with tempfile.TemporaryDirectory() as work:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(work, filter="data")
        env = {**os.environ, "PYTHONPATH": str(Path(work) / "src")}
        print(f"--- baseline: {revision} ---", flush=True)
        subprocess.run([sys.executable, __file__, *argv], check=True, env=env)
        print("--- this tree ---", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--baseline", help="a git revision to measure first, for comparison")
    add_database_options(parser)
    args = parser.parse_args()
    if args.baseline:
        argv = sys.argv[1:]
        at = argv.index("--baseline")
        run_baseline(args.baseline, argv[:at] + argv[at + 2 :])
    print(f"intake from IMAP: {os.cpu_count()} cores; {load_note()}; clock {NOW.date()}")
    with dovecot() as server:
        if server is None:
            return
        mails = corpus(args.count)
        for backend in chosen_backends(args):
            try:
                run_backend(backend, args, server, mails)
            except DatabaseUnavailable as exc:
                print(f"\n{backend}: skipped ({exc})")


if __name__ == "__main__":
    main()
