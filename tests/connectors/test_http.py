"""The HTTP choke point: status and transport errors to the tree, retries, the API log."""

from __future__ import annotations

import contextlib
import logging
import random
from collections.abc import Iterator

import httpx
import pytest

from ticketbridge.connectors.errors import (
    ConnectorAuthError,
    ConnectorConfigError,
    ConnectorPermissionError,
    ConnectorUnavailable,
    RemoteNotFound,
    RemoteRejected,
)
from ticketbridge.connectors.http import HttpChannel, RetryPolicy
from ticketbridge.connectors.http_errors import parse_retry_after
from ticketbridge.connectors.psa.autotask.client import autotask_error
from ticketbridge.connectors.redaction import Redactor

NOW = 1_700_000_000.0
URL = "https://psa.example/api/things"


class Recorder:
    def __init__(self, *outcomes: httpx.Response | Exception) -> None:
        self.outcomes = list(outcomes)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        outcome = self.outcomes.pop(0) if len(self.outcomes) > 1 else self.outcomes[0]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


def channel(
    recorder: Recorder,
    sleeps: list[float],
    *,
    retry: RetryPolicy = RetryPolicy(),
    **kwargs: object,
) -> HttpChannel:
    return HttpChannel(
        httpx.Client(transport=httpx.MockTransport(recorder)),
        service="Autotask",
        retry=retry,
        sleep=sleeps.append,
        clock=lambda: NOW,
        rng=random.Random(7),
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("status", "body", "error_class"),
    [
        (401, {"errors": ["Authentication failed"]}, ConnectorAuthError),
        (403, {"errors": ["Forbidden"]}, ConnectorPermissionError),
        (404, {"Message": "No HTTP resource was found."}, RemoteNotFound),
        (
            405,
            {"Message": "The requested resource does not support http method 'GET'."},
            ConnectorConfigError,
        ),
        (400, {"errors": ["title is required"]}, RemoteRejected),
    ],
)
def test_client_errors_map_to_the_tree_and_are_not_retried(
    status: int, body: dict[str, object], error_class: type[Exception]
) -> None:
    recorder = Recorder(httpx.Response(status, json=body))
    sleeps: list[float] = []

    with pytest.raises(error_class) as caught:
        channel(recorder, sleeps).request("GET", URL)

    assert len(recorder.requests) == 1 and sleeps == []
    error = caught.value
    assert error.status_code == status  # type: ignore[attr-defined]
    assert error.request == f"GET {URL}"  # type: ignore[attr-defined]
    assert f"HTTP {status}" in error.response  # type: ignore[attr-defined]
    assert not error.retryable  # type: ignore[attr-defined]


def test_rejection_keeps_the_remote_messages() -> None:
    recorder = Recorder(httpx.Response(400, json={"errors": ["title is required", "bad queue"]}))

    with pytest.raises(RemoteRejected) as caught:
        channel(recorder, []).request("POST", URL, json={})

    assert caught.value.remote_messages == ("title is required", "bad queue")
    assert "title is required" in caught.value.message


def test_429_waits_as_long_as_retry_after_asks_then_succeeds() -> None:
    recorder = Recorder(
        httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(200, json={"ok": 1})
    )
    sleeps: list[float] = []

    response = channel(recorder, sleeps).request("GET", URL)

    assert response.json() == {"ok": 1}
    assert len(sleeps) == 1 and 7.0 <= sleeps[0] <= 7.7


def test_429_retry_after_as_http_date_counts_from_the_injected_clock() -> None:
    assert parse_retry_after("Tue, 14 Nov 2023 22:13:40 GMT", NOW) == pytest.approx(20.0)
    assert parse_retry_after("soon", NOW) is None
    assert parse_retry_after("-3", NOW) == 0.0


def test_429_asking_longer_than_the_cap_is_raised_with_retry_after_instead_of_slept() -> None:
    recorder = Recorder(httpx.Response(429, headers={"Retry-After": "3600"}))
    sleeps: list[float] = []

    with pytest.raises(ConnectorUnavailable) as caught:
        channel(recorder, sleeps).request("GET", URL)

    assert caught.value.retry_after == 3600 and caught.value.retryable
    assert sleeps == [] and len(recorder.requests) == 1


def test_server_errors_on_reads_are_retried_with_capped_growing_jittered_delays() -> None:
    recorder = Recorder(httpx.Response(502, text="<html>Bad gateway</html>"))
    sleeps: list[float] = []
    policy = RetryPolicy(max_attempts=6, base_delay=1.0, max_delay=5.0, max_total_wait=100)

    with pytest.raises(ConnectorUnavailable) as caught:
        channel(recorder, sleeps, retry=policy).request("GET", URL)

    assert len(recorder.requests) == 6 and len(sleeps) == 5
    ceilings = [1.0, 2.0, 4.0, 5.0, 5.0]
    assert all(c / 2 <= s <= c for s, c in zip(sleeps, ceilings, strict=True))
    assert caught.value.status_code == 502 and not caught.value.outcome_unknown


def test_total_wait_budget_stops_retrying_early() -> None:
    recorder = Recorder(httpx.Response(503, headers={"Retry-After": "30"}))
    sleeps: list[float] = []
    policy = RetryPolicy(max_attempts=10, max_retry_after=60, max_total_wait=70)

    with pytest.raises(ConnectorUnavailable):
        channel(recorder, sleeps, retry=policy).request("GET", URL)

    assert len(sleeps) == 2 and sum(sleeps) <= 70


def test_plain_500_on_a_create_is_not_retried_and_marks_the_outcome_unknown() -> None:
    recorder = Recorder(httpx.Response(500, text=""))
    sleeps: list[float] = []

    with pytest.raises(ConnectorUnavailable) as caught:
        channel(recorder, sleeps).request("POST", URL, json={"title": "x"})

    assert len(recorder.requests) == 1 and sleeps == []
    assert caught.value.outcome_unknown


@pytest.mark.parametrize("status", [429, 503])
def test_create_refused_with_429_or_503_is_retried(status: int) -> None:
    recorder = Recorder(httpx.Response(status), httpx.Response(200, json={"itemId": 5}))
    sleeps: list[float] = []

    response = channel(recorder, sleeps).request("POST", URL, json={"title": "x"})

    assert response.json() == {"itemId": 5} and len(recorder.requests) == 2


def test_create_the_vendor_says_was_refused_unprocessed_is_retried_not_left_unknown() -> None:
    # Autotask's thread limit answers 500 but processed nothing (reference §6).
    recorder = Recorder(
        httpx.Response(500, json={"errors": ["Thread Threshold Exceeded (Itgenatr005)"]}),
        httpx.Response(200, json={"itemId": 5}),
    )
    sleeps: list[float] = []

    response = channel(recorder, sleeps, error_hook=autotask_error).request(
        "POST", URL, json={"title": "x"}
    )

    assert response.json() == {"itemId": 5} and len(recorder.requests) == 2 and len(sleeps) == 1


def test_read_timeout_on_a_create_is_not_retried() -> None:
    recorder = Recorder(httpx.ReadTimeout("slow"))

    with pytest.raises(ConnectorUnavailable) as caught:
        channel(recorder, []).request("POST", URL, json={})

    assert len(recorder.requests) == 1 and caught.value.outcome_unknown
    assert "did not answer in time" in caught.value.message


def test_read_timeout_on_a_read_is_retried() -> None:
    recorder = Recorder(httpx.ReadTimeout("slow"), httpx.Response(200, json={}))

    channel(recorder, []).request("GET", URL)

    assert len(recorder.requests) == 2


def test_query_sent_as_post_is_retried_when_flagged_idempotent() -> None:
    recorder = Recorder(httpx.ReadTimeout("slow"), httpx.Response(200, json={}))

    channel(recorder, []).request("POST", URL, json={}, idempotent=True)

    assert len(recorder.requests) == 2


def test_connection_refused_before_sending_is_retried_even_for_a_create() -> None:
    recorder = Recorder(httpx.ConnectError("refused"), httpx.Response(200, json={"itemId": 1}))

    channel(recorder, []).request("POST", URL, json={})

    assert len(recorder.requests) == 2


def test_invalid_address_is_a_configuration_error() -> None:
    # A real transport: it refuses the scheme before any connection is attempted.
    real = HttpChannel(httpx.Client(), sleep=lambda s: None)

    with pytest.raises(ConnectorConfigError):
        real.request("GET", "ftp://psa.example/x")


def test_error_hook_overrides_the_status_mapping() -> None:
    def hook(response: httpx.Response, messages: tuple[str, ...]) -> RemoteRejected | None:
        return RemoteRejected("vendor says no") if messages else None

    recorder = Recorder(httpx.Response(500, json={"errors": ["queueID is required"]}))

    with pytest.raises(RemoteRejected) as caught:
        channel(recorder, [], error_hook=hook).request("POST", URL, json={})

    assert caught.value.status_code == 500
    assert caught.value.remote_messages == ("queueID is required",)


SECRET_HEADERS = {
    "UserName": "api@example.com",
    "Secret": "hunter2-secret",
    "ApiIntegrationCode": "CODE1234",
}


def run_logged(level: str, caplog: pytest.LogCaptureFixture) -> str:
    recorder = Recorder(httpx.Response(200, json={"echo": "hunter2-secret"}))
    redactor = Redactor(SECRET_HEADERS.values())
    with caplog.at_level(logging.INFO, logger="ticketbridge.connectors.api"):
        channel(recorder, [], log_level=level, redactor=redactor).request(
            "POST",
            URL + "?user=api@example.com",
            json={"secret": "hunter2-secret"},
            headers=SECRET_HEADERS,
        )
    return caplog.text


def test_api_log_off_writes_nothing(caplog: pytest.LogCaptureFixture) -> None:
    assert run_logged("off", caplog) == ""


def test_api_log_summary_is_one_line_without_bodies(caplog: pytest.LogCaptureFixture) -> None:
    text = run_logged("summary", caplog)

    assert f"POST {URL} -> 200" in text
    assert "echo" not in text and "api@example.com" not in text


def test_api_log_full_shows_bodies_with_secrets_redacted(caplog: pytest.LogCaptureFixture) -> None:
    text = run_logged("full", caplog)

    assert "echo" in text and "'Secret': '***'" in text and "'UserName': '***'" in text
    for secret in SECRET_HEADERS.values():
        assert secret not in text


def test_a_file_upload_is_multipart_and_the_full_log_names_files_without_their_bytes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    recorder = Recorder(
        httpx.Response(
            200, content=b"PK\x03\x04 zip bytes", headers={"content-type": "application/zip"}
        )
    )
    with caplog.at_level(logging.INFO, logger="ticketbridge.connectors.api"):
        channel(recorder, [], log_level="full").request(
            "POST", URL, files={"file": ("report.pdf", b"%PDF-1.7 secret body", "application/pdf")}
        )

    sent = recorder.requests[0]
    assert sent.headers["content-type"].startswith("multipart/form-data")
    assert b'name="file"; filename="report.pdf"' in sent.content
    assert b"%PDF-1.7 secret body" in sent.content
    assert "report.pdf (20 bytes)" in caplog.text
    assert "secret body" not in caplog.text and "zip bytes" not in caplog.text
    assert "<14 bytes of application/zip>" in caplog.text


def test_error_summaries_never_hold_a_known_secret() -> None:
    recorder = Recorder(httpx.Response(400, json={"errors": ["bad secret hunter2-secret"]}))
    redactor = Redactor(["hunter2-secret"])

    with pytest.raises(RemoteRejected) as caught:
        channel(recorder, [], redactor=redactor).request("GET", URL)

    error = caught.value
    for text in (error.message, error.response or "", *error.remote_messages):
        assert "hunter2-secret" not in text


def test_a_per_request_timeout_overrides_the_clients_for_that_request_only() -> None:
    recorder = Recorder(httpx.Response(200, json={}))
    sent = channel(recorder, [])

    sent.request("POST", URL, json={}, timeout=60.0)
    sent.request("GET", URL)

    timeouts = [r.extensions["timeout"]["read"] for r in recorder.requests]
    assert timeouts == [60.0, httpx.Client().timeout.read]


class FullGate:
    """A gate whose endpoint never frees up: it refuses, as a governor does after the wait."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def hold(self, method: str, url: str, *, wait: float) -> contextlib.nullcontext[None]:
        self.waits.append(wait)
        raise ConnectorUnavailable("all request slots stayed busy")


def test_a_gate_refusal_is_raised_unsent_and_unretried_and_waits_the_request_timeout() -> None:
    recorder = Recorder(httpx.Response(200, json={}))
    gate = FullGate()
    sleeps: list[float] = []

    with pytest.raises(ConnectorUnavailable, match="slots stayed busy"):
        channel(recorder, sleeps, gate=gate).request("POST", URL, json={}, timeout=45.0)

    assert recorder.requests == [] and sleeps == []
    assert gate.waits == [45.0]


class CountingGate:
    def __init__(self) -> None:
        self.held: list[str] = []

    @contextlib.contextmanager
    def hold(self, method: str, url: str, *, wait: float) -> Iterator[None]:
        self.held.append(f"{method} {wait}")
        yield


def test_every_attempt_passes_the_gate_again_and_backoff_holds_no_slot() -> None:
    recorder = Recorder(httpx.Response(503), httpx.Response(200, json={}))
    gate = CountingGate()
    http = httpx.Client(transport=httpx.MockTransport(recorder), timeout=12.0)

    HttpChannel(http, sleep=lambda s: None, gate=gate).request("GET", URL)

    assert gate.held == ["GET 12.0", "GET 12.0"]
