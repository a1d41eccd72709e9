"""One product worker of bench/ticket_chaos.py: the web app served by uvicorn in a process of its
own, as ``ticketbridge serve`` runs it, on a listening socket the bench hands over.

    python bench/support/chaos_worker.py --fd N --database-url URL --var-dir DIR \
        --create-timeout SECONDS

No background jobs run here: the bench drives the settle job itself. SIGTERM stops
the worker gracefully; its ticket actions still running finish first (the app's lifespan).

The connector's create timeout (``AutotaskConfig.create_timeout_seconds``, 60 s) cannot be set
from the integration settings yet, so :class:`CreateTimeout`, the transport through which the
product reaches Autotask, cuts the read timeout of ticket creates to ``--create-timeout``: a
create slower than that fails as the connector's own timeout would, outcome unknown.
"""

from __future__ import annotations

import argparse
import gc
import logging
import socket
import sys
from pathlib import Path

import httpx
import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from support import bench_settings
from ticketbridge.web.app import create_app


class CreateTimeout(httpx.BaseTransport):
    """Real connections; a ticket create (POST .../V1.0/Tickets) gets at most ``seconds`` to be
    answered."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.inner = httpx.HTTPTransport(limits=httpx.Limits(max_connections=200))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.lower().rstrip("/")
        if request.method == "POST" and path.endswith("/v1.0/tickets"):
            timeouts = dict(request.extensions.get("timeout") or {})
            read = timeouts.get("read")
            timeouts["read"] = self.seconds if read is None else min(read, self.seconds)
            request.extensions = {**request.extensions, "timeout": timeouts}
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fd", type=int, required=True, help="a listening socket to serve on")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--var-dir", type=Path, required=True)
    parser.add_argument("--create-timeout", type=float, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app = create_app(bench_settings(args.database_url, args.var_dir))
    transport = CreateTimeout(args.create_timeout)
    app.state.ctx.psa_transport = transport
    sock = socket.socket(fileno=args.fd)
    gc.collect()
    gc.freeze()  # as `ticketbridge serve` does
    try:
        uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[sock])
    finally:
        transport.close()
        app.state.ctx.engine.dispose()


if __name__ == "__main__":
    main()
