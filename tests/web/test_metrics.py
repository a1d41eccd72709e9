"""/metrics and request ids through a real uvicorn: a scripted flow (runs reported through the
API, a ticket created in the Autotask emulator, a callout, a background job), then the metric
names and labels Prometheus would read, and the request id on answers, logs and audit events.

Counters live as long as the process (both database halves share them), so each assertion is
on what the flow added, read before and after."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import NOW, add_token, run_payload
from tests.services.autotask_world import AutotaskWorld
from tests.services.tickets.support import prepare
from tests.web.live_server import serve
from tests.web.serving import serve as serve_bare
from ticketbridge.cli.logs import JsonFormatter
from ticketbridge.core.roles import Role
from ticketbridge.services.demo import mail as demo_mail
from ticketbridge.services.roundtrip import config as roundtrip_config
from ticketbridge.services.runtime import Runtime
from ticketbridge.settings import Settings
from ticketbridge.storage.models import AuditEvent
from ticketbridge.web.app import create_app
from ticketbridge.web.metrics import metrics_app
from ticketbridge.worker.tasks import TASKS

ID_SEGMENT = re.compile(r"/\d+(/|$)")
DEMO_MAILS = Path(demo_mail.__file__).parent / "mails"
TOKEN = "metrics-token-for-tests-0123456789"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(base_url: str, token: str = TOKEN) -> Samples:
    answer = httpx.get(f"{base_url}/metrics", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def labels_of(samples: Samples, name: str) -> list[dict[str, str]]:
    return [dict(labels) for found, labels in samples if found == name]


@pytest.fixture
def metered(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"metrics_token": SecretStr(TOKEN), "ticket_action_wait_seconds": 30.0}
    )


@pytest.fixture
def world() -> Iterator[AutotaskWorld]:
    made = AutotaskWorld()
    yield made
    made.close()


@pytest.fixture
def app(metered: Settings, engine: Engine, db: sessionmaker[Session]) -> FastAPI:
    return create_app(metered, engine=engine, clock=lambda: NOW)


@pytest.fixture
def runtime(app: FastAPI, db: sessionmaker[Session], world: AutotaskWorld) -> Runtime:
    made: Runtime = app.state.ctx
    world.attach(made)
    prepare(made, db, logging_level="summary")  # the API log: one line per PSA request
    return made


@pytest.fixture
def base_url(app: FastAPI, runtime: Runtime) -> Iterator[str]:
    with serve(app) as url:
        yield url


@pytest.fixture
def json_log() -> Iterator[list[dict[str, Any]]]:
    """Every line the app logs meanwhile, as the JSON format writes it."""
    lines: list[dict[str, Any]] = []
    formatter = JsonFormatter()

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(orjson.loads(formatter.format(record)))

    handler = Keep(logging.INFO)
    logger = logging.getLogger("ticketbridge")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield lines
    logger.removeHandler(handler)
    logger.setLevel(level)


def test_a_scripted_flow_shows_in_the_metrics_by_template_and_outcome(
    base_url: str,
    runtime: Runtime,
    db: sessionmaker[Session],
    world: AutotaskWorld,
    json_log: list[dict[str, Any]],
) -> None:
    before = scrape(base_url)
    operator = {"Authorization": f"Bearer {add_token(db, Role.OPERATOR, 'flow-operator')}"}
    client = httpx.Client(base_url=base_url, headers=operator, timeout=30)

    batch = {"runs": [run_payload(external_id="m-1"), run_payload(external_id="m-2")]}
    reported = client.post("/api/v1/runs", json=batch)
    assert reported.status_code == 200, reported.text
    run_id = reported.json()["items"][0]["run_id"]
    assert client.get(f"/api/v1/runs/{run_id}").status_code == 200
    created = client.post(f"/api/v1/runs/{run_id}/ticket")
    assert created.status_code == 201, created.text
    ticket_id = created.json()["current"]["ticket_id"]
    with runtime.session_factory() as session:
        _, password = roundtrip_config.create_callout(
            session, runtime.secret_box, name="autotask", username="autotask",
            fmt="name_value", udf_filter=None, actor="test", now=NOW,
        )  # fmt: skip
        session.commit()
    callout = httpx.post(
        f"{base_url}/hooks/autotask/callouts/autotask",
        content=f"id={ticket_id}&status=Complete",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        auth=("autotask", password),
    )
    assert callout.status_code == 200, callout.text
    mail = (DEMO_MAILS / "veeam_br-backup-success-three-vms.eml").read_bytes()
    uploaded = client.post("/api/v1/mail/upload", files=[("files", ("a.eml", mail))])
    assert uploaded.status_code == 200, uploaded.text
    TASKS["system.heartbeat"](runtime)

    after = scrape(base_url)
    grew = lambda name, **labels: value(after, name, **labels) - value(before, name, **labels)  # noqa: E731
    ingest = {"method": "POST", "route": "/api/v1/runs", "status": "200"}
    assert grew("ticketbridge_http_requests_total", **ingest) == 1
    one_run = {"method": "GET", "route": "/api/v1/runs/{run_id}", "status": "200"}
    assert grew("ticketbridge_http_requests_total", **one_run) == 1
    assert grew("ticketbridge_http_request_duration_seconds_count", method="GET",
                route="/api/v1/runs/{run_id}") == 1  # fmt: skip
    routes = {labels["route"] for labels in labels_of(after, "ticketbridge_http_requests_total")}
    assert not [route for route in routes if ID_SEGMENT.search(route)]  # templates, not paths
    assert grew("ticketbridge_runs_ingested_total", source="api") == 2
    assert grew("ticketbridge_ticket_actions_total", action="create", outcome="ok") == 1

    autotask = {"kind": "autotask", "connection": "autotask"}
    tickets = {**autotask, "method": "POST", "endpoint": "/ATServicesRest/V1.0/Tickets"}
    assert grew("ticketbridge_psa_requests_total", **tickets, status="200") == 1
    endpoints = {e["endpoint"] for e in labels_of(after, "ticketbridge_psa_requests_total")}
    assert "/ATServicesRest/V1.0/Tickets/{id}" in endpoints
    assert not [e for e in endpoints if ID_SEGMENT.search(e)]  # ids become {id}
    assert ("ticketbridge_psa_requests_in_flight", frozenset(autotask.items())) in after
    assert value(after, "ticketbridge_psa_budget_used_requests", **autotask) > 0
    assert value(after, "ticketbridge_psa_budget_limit_requests", **autotask) > 0

    callouts = labels_of(after, "ticketbridge_hooks_received_total")
    assert sum(grew("ticketbridge_hooks_received_total", **c) for c in callouts
               if c["channel"] == "callout") == 1  # fmt: skip
    assert grew("ticketbridge_jobs_total", job="system.heartbeat", outcome="ok") == 1
    assert grew("ticketbridge_job_duration_seconds_count", job="system.heartbeat") == 1
    assert value(after, "ticketbridge_queue_depth", queue="unreviewed_runs") == 2
    assert grew("ticketbridge_mails_received_total", source="upload") == 1
    parsed = labels_of(after, "ticketbridge_mails_parsed_total")
    assert {"source": "upload", "parser": "veeam_br", "state": "parsed"} in parsed
    assert value(after, "ticketbridge_queue_depth", queue="inbox_mails") == 1  # a new sender
    assert value(after, "ticketbridge_queue_depth", queue="pending_ticket_actions") == 0
    # The sample dashboard asks only for what is served.
    dashboard = (Path(__file__).parents[2] / "docs" / "grafana-dashboard.json").read_text()
    assert set(re.findall(r"ticketbridge_[a-z_]+", dashboard)) <= {name for name, _ in after}

    # The PSA request of the click, logged on the action pool's thread, knows whose click it was.
    request_id = created.headers["x-request-id"]
    [sent] = [
        line for line in json_log
        if line["logger"] == "ticketbridge.connectors.api"
        and line["message"].startswith("POST ") and "/V1.0/Tickets -> " in line["message"]
    ]  # fmt: skip
    assert sent["request_id"] == request_id
    assert sent["route"] == "/api/v1/runs/{run_id}/ticket"
    assert sent["user"] == "token:flow-operator"
    assert sent["connection"] == "autotask"
    with runtime.session_factory() as session:
        audited = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "ticket.create")
        ).one()
    assert audited.request_id == request_id


def test_metrics_refuse_a_missing_or_wrong_token(base_url: str) -> None:
    assert httpx.get(f"{base_url}/metrics").status_code == 401
    wrong = httpx.get(f"{base_url}/metrics", headers={"Authorization": "Bearer guessed-token"})
    assert wrong.status_code == 401
    assert wrong.headers["www-authenticate"] == "Bearer"
    assert "ticketbridge_http_requests_total" not in wrong.text
    assert scrape(base_url)  # the right one is let in


def test_a_sane_request_id_is_kept_and_any_other_replaced(
    base_url: str, db: sessionmaker[Session]
) -> None:
    headers = {"Authorization": f"Bearer {add_token(db, Role.OPERATOR)}"}
    kept = httpx.post(
        f"{base_url}/api/v1/runs",
        json=run_payload(external_id="rid-1"),
        headers=headers | {"X-Request-ID": "lb-7f3a9c21-0001"},
    )
    assert kept.status_code == 200 and kept.headers["x-request-id"] == "lb-7f3a9c21-0001"
    with db() as session:
        [event] = session.scalars(select(AuditEvent).where(AuditEvent.action == "runs.ingest"))
    assert event.request_id == "lb-7f3a9c21-0001"

    for hostile in ("short", "x" * 65, "a b\tc<script>", "ok-but-\u00e9\u00e9".encode()):
        answer = httpx.get(f"{base_url}/healthz", headers={"X-Request-ID": hostile})
        assert answer.headers["x-request-id"] not in (hostile, "ok-but-\u00e9\u00e9")
        assert len(answer.headers["x-request-id"]) == 32
    first = httpx.get(f"{base_url}/healthz").headers["x-request-id"]
    assert first != httpx.get(f"{base_url}/healthz").headers["x-request-id"]


@pytest.mark.parametrize("token", [None, TOKEN], ids=["no-token", "token"])
def test_without_a_token_or_with_a_metrics_port_the_ui_port_has_no_metrics(
    settings: Settings, engine: Engine, db: sessionmaker[Session], token: str | None
) -> None:
    update: dict[str, Any] = {"metrics_token": SecretStr(token) if token else None}
    if token:
        update["metrics_port"] = 9464
    app = create_app(settings.model_copy(update=update), engine=engine)
    with serve(app) as url:
        answer = httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 404


def test_the_metrics_port_serves_metrics_only_and_asks_for_a_set_token(
    metered: Settings, engine: Engine, db: sessionmaker[Session]
) -> None:
    runtime: Runtime = create_app(metered, engine=engine).state.ctx
    with serve_bare(metrics_app(runtime)) as url:
        assert httpx.get(f"{url}/metrics").status_code == 401
        assert (
            "ticketbridge_queue_depth"
            in httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).text
        )
        assert httpx.get(f"{url}/api/v1/runs").status_code == 404
