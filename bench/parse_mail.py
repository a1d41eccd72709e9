"""Mails parsed per second on one core, and peak memory, over the parser fixture corpus; and the
parse rate of large HTML reports.

The corpus (tests/fixtures/mail/*/*.eml) is repeated to --count mails (default 10,000) and
parsed one by one in this process, as intake does. The timed pass runs without tracing; a
second, shorter pass under tracemalloc measures the peak Python allocation of one parse.

Large HTML: a Veeam B&R report (the backup-success fixture) whose object table is grown to about
3 MB, and to a 25 MiB mail (just under intake's size limit), each parsed end to end (best CPU
time of --repeat). With --baseline REV the same large mails are also parsed by the parsers of
that git revision (exported to a temporary directory, run in a child process) and the ratio is
printed, so old and new are measured under the same load.

    .venv/bin/python bench/parse_mail.py [--count 10000] [--baseline HEAD~1] [--repeat 3]
"""

from __future__ import annotations

import argparse
import email
import io
import json
import os
import re
import resource
import subprocess
import sys
import tarfile
import tempfile
import time
import tracemalloc
from collections import Counter
from email import policy
from email.message import EmailMessage
from itertools import cycle, islice
from pathlib import Path

from ticketbridge.connectors.parsers.registry import parse_message

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "mail"
TEMPLATE = FIXTURES / "veeam_br" / "backup-success-three-vms.eml"
TARGET_PER_SECOND = 300
LARGE = (("3 MB Veeam table", 3_000_000), ("25 MiB HTML mail", 24_500_000))
_OBJECT_ROW = re.compile(r'<tr style="height: 17px;"><td nowrap=""[^\n]*?>DC01</td>.*?</tr>', re.S)


def large_veeam_mail(html_bytes: int) -> bytes:
    """The Veeam fixture with its first object row repeated (names numbered) to about
    `html_bytes` of HTML, quoted-printable as Veeam sends it."""
    message = email.message_from_bytes(TEMPLATE.read_bytes(), policy=policy.default)
    assert isinstance(message, EmailMessage)
    html = str(message.get_content())
    found = _OBJECT_ROW.search(html)
    assert found is not None, "the template's object row moved"
    row, size, rows = found.group(0), len(html), []
    while size < html_bytes:
        rows.append(row.replace("DC01", f"VM-{len(rows):06d}"))
        size += len(rows[-1]) + 1
    message.set_content(
        html.replace(row, "\n".join(rows), 1), subtype="html", cte="quoted-printable"
    )
    return message.as_bytes()


def time_large(repeat: int) -> list[dict[str, object]]:
    """Best CPU seconds to parse each large mail, with what came out (to compare revisions)."""
    figures = []
    for name, html_bytes in LARGE:
        raw = large_veeam_mail(html_bytes)
        best, outcome = float("inf"), None
        for _ in range(repeat):
            start = time.process_time()
            outcome = parse_message(raw)
            best = min(best, time.process_time() - start)
        assert outcome is not None
        objects = sum(len(report.objects) for report in outcome.reports)
        figures.append(
            {
                "name": name,
                "bytes": len(raw),
                "cpu": best,
                "state": outcome.state.value,
                "objects": objects,
            }
        )
    return figures


def baseline_figures(revision: str, repeat: int) -> list[dict[str, object]]:
    """time_large() run by the parsers of `revision`, in a child process."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", revision, "src"], check=True, capture_output=True
    ).stdout
    with tempfile.TemporaryDirectory() as work:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(work, filter="data")
        env = {**os.environ, "PYTHONPATH": str(Path(work) / "src")}
        child = subprocess.run(
            [sys.executable, __file__, "--large-only", "--repeat", str(repeat)],
            check=True,
            capture_output=True,
            text=True,
            env=env,
            cwd=work,
        )
    return list(json.loads(child.stdout.splitlines()[-1]))


def print_large(figures: list[dict[str, object]], old: list[dict[str, object]] | None) -> None:
    for index, figure in enumerate(figures):
        size, cpu = int(str(figure["bytes"])), float(str(figure["cpu"]))
        line = (
            f"{figure['name']} ({size / 1024 / 1024:.1f} MiB, {figure['objects']} objects, "
            f"{figure['state']}): {cpu:.2f} s, {size / cpu / 1024 / 1024:.1f} MiB/s"
        )
        if old is not None:
            before = old[index]
            same = (before["state"], before["objects"]) == (figure["state"], figure["objects"])
            old_cpu = float(str(before["cpu"]))
            line += f"; baseline {old_cpu:.2f} s, {old_cpu / cpu:.1f}x"
            line += "" if same else f" (baseline read {before['objects']} objects: DIFFERS)"
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3, help="large mails: best of N")
    parser.add_argument("--baseline", help="a git revision whose parsers to compare with")
    parser.add_argument("--large-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.large_only:  # the child of --baseline: figures as JSON on the last line
        print(json.dumps(time_large(args.repeat)))
        return

    one, five, _ = os.getloadavg()
    print(f"{os.cpu_count()} cores; load average {one:.1f} (1 min), {five:.1f} (5 min)")
    corpus = [path.read_bytes() for path in sorted(FIXTURES.glob("*/*.eml"))]
    mails = list(islice(cycle(corpus), args.count))
    for raw in corpus:  # warm up imports and regex caches outside the timing
        parse_message(raw)

    states: Counter[str] = Counter()
    cpu_start, wall_start = time.process_time(), time.perf_counter()
    for raw in mails:
        states[parse_message(raw).state.value] += 1
    cpu = time.process_time() - cpu_start
    wall = time.perf_counter() - wall_start

    tracemalloc.start()
    for raw in corpus:
        parse_message(raw)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    per_core = len(mails) / cpu
    size = sum(len(raw) for raw in corpus) / len(corpus)
    print(
        f"corpus: {len(corpus)} fixture mails (mean {size / 1024:.1f} KiB), "
        f"repeated to {len(mails)}"
    )
    print(f"outcomes: {dict(states)}")
    print(f"wall: {wall:.2f} s  cpu: {cpu:.2f} s")
    print(f"mails/s per core (cpu time): {per_core:,.0f}  (target >= {TARGET_PER_SECOND})")
    print(f"mean parse: {cpu / len(mails) * 1000:.2f} ms")
    print(f"peak traced allocation for one parse: {peak / 1024:.0f} KiB")
    print("result:", "OK" if per_core >= TARGET_PER_SECOND else "BELOW TARGET")

    print(f"\nlarge HTML reports, end to end (CPU time, best of {args.repeat}):")
    old = baseline_figures(args.baseline, args.repeat) if args.baseline else None
    print_large(time_large(args.repeat), old)
    max_rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"process max RSS: {max_rss_kib / 1024:.1f} MiB")


if __name__ == "__main__":
    main()
