"""Mails parsed per second on one core, and peak memory, over the parser fixture corpus.

The corpus (tests/fixtures/mail/*/*.eml) is repeated to --count mails (default 10,000) and
parsed one by one in this process, as intake does. The timed pass runs without tracing; a
second, shorter pass under tracemalloc measures the peak Python allocation of one parse.

    .venv/bin/python bench/parse_mail.py [--count 10000]
"""

from __future__ import annotations

import argparse
import resource
import time
import tracemalloc
from collections import Counter
from itertools import cycle, islice
from pathlib import Path

from ticketbridge.connectors.parsers.registry import parse_message

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "mail"
TARGET_PER_SECOND = 300


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=10_000)
    args = parser.parse_args()

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
    max_rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

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
    print(f"process max RSS: {max_rss_kib / 1024:.1f} MiB")
    print("result:", "OK" if per_core >= TARGET_PER_SECOND else "BELOW TARGET")


if __name__ == "__main__":
    main()
