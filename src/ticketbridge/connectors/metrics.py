"""Every Prometheus metric of the service, defined in one place (docs/operations.md, Metrics).

The definitions live in connectors, not core, because they are process state that writes to
disk in multiprocess mode; and not in services, because the PSA request counters are counted
at the HTTP choke point (:mod:`ticketbridge.connectors.http`), which may not import services.
Everything above (services, web, worker) imports them from here.

Labels never carry an id, a raw path or a name typed by a user: an HTTP route is its template
(``/jobs/{job_id}``), a PSA endpoint its path with ids replaced by ``{id}``.

Several processes (``serve --workers N``, ``ticketbridge worker`` next to ``serve``) share
their figures through prometheus-client's multiprocess mode: each process writes its values to
files in ``PROMETHEUS_MULTIPROC_DIR`` and the process answering a scrape adds them up.
prometheus-client reads that variable when it is first imported, so it must be set in the
environment before the process starts (the serve command sets it for its workers). A process
that ends forgets its live gauges there (:func:`process_ended`); its counters stay, so the
totals keep what it counted.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

import httpx
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector

__all__ = ["CONTENT_TYPE_LATEST", "exposition"]

# Pages and API calls: most answer within tens of milliseconds, a PSA-bound click within a
# second (ticket_action_wait_seconds), a large upload or batch in several.
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
PSA_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
JOB_BUCKETS = (0.01, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0)

HTTP_REQUESTS = Counter(
    "ticketbridge_http_requests",
    "HTTP requests answered, by method, route template and status code.",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "ticketbridge_http_request_duration_seconds",
    "Time from receiving an HTTP request to the end of its answer, by route template.",
    ["method", "route"],
    buckets=HTTP_BUCKETS,
)
RUNS_INGESTED = Counter(
    "ticketbridge_runs_ingested",
    "New runs stored, by how they arrived (api, mail).",
    ["source"],
)
MAILS_RECEIVED = Counter(
    "ticketbridge_mails_received",
    "New mails stored (re-deliveries not counted), by mail source kind (upload: no source).",
    ["source"],
)
MAILS_PARSED = Counter(
    "ticketbridge_mails_parsed",
    "New mails after parsing, by source kind, parser (none: no parser matched) and state.",
    ["source", "parser", "state"],
)
TICKET_ACTIONS = Counter(
    "ticketbridge_ticket_actions",
    "Ticket actions as audited (create, link, resolve, validate, ...), by outcome.",
    ["action", "outcome"],
)
PSA_REQUESTS = Counter(
    "ticketbridge_psa_requests",
    "Requests sent to a PSA (each attempt), by connection, method, endpoint and status "
    "(the HTTP code, or the transport error's name when no answer came).",
    ["kind", "connection", "method", "endpoint", "status"],
)
PSA_DURATION = Histogram(
    "ticketbridge_psa_request_duration_seconds",
    "Time a PSA took to answer one attempt, by connection and endpoint.",
    ["kind", "connection", "endpoint"],
    buckets=PSA_BUCKETS,
)
PSA_IN_FLIGHT = Gauge(
    "ticketbridge_psa_requests_in_flight",
    "PSA requests sent and not yet answered, by connection.",
    ["kind", "connection"],
    multiprocess_mode="livesum",
)
JOB_RUNS = Counter(
    "ticketbridge_jobs",
    "Background job runs, by job and outcome (ok, failed, skipped: still running).",
    ["job", "outcome"],
)
JOB_DURATION = Histogram(
    "ticketbridge_job_duration_seconds",
    "Time a background job ran, by job.",
    ["job"],
    buckets=JOB_BUCKETS,
)
HOOKS_RECEIVED = Counter(
    "ticketbridge_hooks_received",
    "Callouts and webhooks received from a PSA, by channel and outcome.",
    ["channel", "outcome"],
)

# A path segment that names one object: a number, an issue key (PROJ-12) or a long hex id.
_ID_SEGMENT = re.compile(r"^(\d+|[A-Za-z][A-Za-z0-9_]*-\d+|[0-9a-fA-F-]{16,})$")
_MAX_ENDPOINT_CHARS = 120


def endpoint_template(url: str) -> str:
    """The path of a PSA request with every id replaced by ``{id}`` and no query string:
    ``/ATServicesRest/V1.0/Tickets/42/Notes`` becomes ``/ATServicesRest/V1.0/Tickets/{id}/Notes``.
    Keeps the label set as small as the API's list of endpoints."""
    try:
        path = httpx.URL(url).path
    except httpx.InvalidURL:
        return "invalid"
    segments = ["{id}" if _ID_SEGMENT.match(s) else s for s in path.split("/")]
    return "/".join(segments)[:_MAX_ENDPOINT_CHARS] or "/"


def exposition(extra: Iterable[Collector] = (), *, multiprocess_dir: Path | None = None) -> bytes:
    """The text format of every metric: this process's (or, with ``multiprocess_dir``, every
    process's that writes there) and the ``extra`` collectors, which compute their values now
    (queue depths, the PSA budget)."""
    if multiprocess_dir is not None:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(multiprocess_dir))
        body = generate_latest(registry)
    else:
        body = generate_latest(REGISTRY)
    scraped = CollectorRegistry()
    for collector in extra:
        scraped.register(collector)
    return body + generate_latest(scraped)


def process_ended(multiprocess_dir: Path | None) -> None:
    """This process ends: remove its live gauges' file (PSA requests in flight) from the
    multiprocess directory, as prometheus-client asks, or the sum would keep them forever."""
    if multiprocess_dir is not None:
        mark_process_dead(os.getpid(), str(multiprocess_dir))
