"""Microsoft 365 mail through Graph change notifications: the delay from delivery to stored mail,
and the Graph requests each notified mail costs.

The Graph sandbox served over TLS on a loopback port (msal client credentials, as a production
source signs in), our app served by uvicorn on another port as the public URL, and one
Microsoft 365 source subscribed to its inbox (services/mail/subscriptions.py). No worker runs,
so only notifications poll. --mails mails are delivered one at a time, each once the previous
one is stored; the delay runs from the sandbox's answer to the delivery to the end of the poll
its notification asked for (fetched, stored, moved to the processed folder). The sandbox posts
the notification after answering the delivery, as Graph notifies after the change.

    .venv/bin/python bench/graph_notifications.py [--mails 50] [--backend sqlite]

Measured 2026-12-02, 50 mails, load average 6.6-7.4 on 2 cores: delivery to stored p50 182 ms,
p95 201 ms (SQLite); p50 266 ms, p95 293 ms (PostgreSQL); 4 Graph requests a mail (delta,
$value, move, and the processed folder's look-up, which a new connector makes on every poll).
"""

from __future__ import annotations

import argparse
import os
import queue
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
import support.mail  # noqa: F401  (puts the repository root on sys.path, for the test tree)
from support import (
    DatabaseUnavailable,
    add_database_options,
    bench_settings,
    chosen_backends,
    fresh_database,
    load_note,
)

from tests.cli.graph_mailbox import add_graph_source
from tests.emulators.graph.conftest import serve_on_loopback
from tests.web.serving import serve
from ticketbridge.emulators.graph import DEMO_CLIENT_SECRET, DEMO_MAILBOX, create_app
from ticketbridge.emulators.graph.tls import self_signed
from ticketbridge.services.mail import subscriptions
from ticketbridge.services.mail.polling import PollResult
from ticketbridge.services.runtime import build_runtime
from ticketbridge.web.app import create_app as create_ticketbridge

BOUND_SECONDS = 60.0  # a bound on a lost notification, not a figure
INBOX = f"/_emulator/mailboxes/{DEMO_MAILBOX}/folders/inbox/messages"


def run(backend: str, url: str, workdir: Path, mails: int) -> None:
    tls, _ = self_signed(workdir / "tls")
    os.environ["REQUESTS_CA_BUNDLE"] = os.environ["SSL_CERT_FILE"] = str(tls.ca)
    settings = bench_settings(url, workdir / "var")
    sandbox = create_app(tokens=(), seed="empty")
    product = create_ticketbridge(settings)
    polls: queue.SimpleQueue[tuple[float, PollResult]] = queue.SimpleQueue()
    product.state.prompt_poll.observer = lambda _, r: polls.put((time.perf_counter(), r))
    with serve_on_loopback(sandbox, tls) as graph_url, serve(product) as public:
        admin = httpx.Client(base_url=graph_url, verify=str(tls.ca))
        runtime = build_runtime(settings.model_copy(update={"public_url": public}))
        add_graph_source(runtime, graph_url, name="Service desk", secret=DEMO_CLIENT_SECRET)
        [made] = subscriptions.maintain(runtime)
        assert made.action == "created", made
        admin.delete("/_emulator/requests")
        delays: list[float] = []
        for n in range(mails):
            raw = (
                f"From: Dana <dana@customer.example>\r\nTo: {DEMO_MAILBOX}\r\n"
                f"Subject: Request {n}\r\nMessage-ID: <bench-{n}@customer.example>\r\n\r\nHi\r\n"
            ).encode()
            answer = admin.post(INBOX, content=raw)
            delivered = time.perf_counter()
            assert answer.status_code == 201, answer.text
            stored = 0
            while stored == 0:
                ended, result = polls.get(timeout=BOUND_SECONDS)
                assert not result.error, result.error
                stored += result.stored
            delays.append(ended - delivered)
        log = admin.get("/_emulator/requests").json()
        shapes: Counter[str] = Counter()
        for entry in log:
            path = entry["path"].split("/users/")[-1].split("/", 1)[-1]
            shape = "messages/{id}/" + path.split("/")[-1] if path.startswith("messages/") else path
            shapes[f"{entry['method']} {shape}"] += 1
        admin.close()
    delays.sort()
    p95 = delays[max(0, int(len(delays) * 0.95) - 1)]
    print(f"[{backend}] {mails} mails, each delivered once the previous was stored")
    print(
        f"  delivery to stored: p50 {statistics.median(delays) * 1000:.0f} ms, "
        f"p95 {p95 * 1000:.0f} ms, max {delays[-1] * 1000:.0f} ms"
    )
    print(f"  Graph requests per mail: {sum(shapes.values()) / mails:.1f}")
    for shape, count in shapes.most_common():
        print(f"    {count / mails:5.2f}  {shape}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=50)
    add_database_options(parser)
    args = parser.parse_args()
    print(load_note())
    for backend in chosen_backends(args):
        with tempfile.TemporaryDirectory() as tmp:
            try:
                with fresh_database(backend, Path(tmp), args.postgres_url) as url:
                    run(backend, url, Path(tmp), args.mails)
            except DatabaseUnavailable as exc:
                print(f"[{backend}] skipped: {exc}")
    print(load_note())


if __name__ == "__main__":
    main()
