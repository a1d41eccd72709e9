"""Hostile input against a real server (issue 10): huge bodies, large mail, login floods.

The product runs as ``ticketbridge serve`` in a process of its own (uvicorn, the in-process jobs,
SQLite by default) on a loopback port; this process plays the clients. During every phase one
client asks ``/healthz`` over and over, and a sampler reads the server's resident memory
(``VmRSS`` in ``/proc/<pid>/status``) every 20 ms.

1. Bodies of 1 GiB, streamed from a generator (never held in memory here): ``POST /api/v1/runs``
   without a token (with a Content-Length, then chunked) and with one; the mail upload without
   a token, the UI upload without a sign-in; then one authenticated 1 GiB upload, which is
   within the upload's cap (100 mails at the mail size limit) and so is spooled to a temporary
   file before its one file is refused for size.
2. Large mail: a 17 MB HTML report uploaded, then five more at once, then viewed by 100
   reporters at once.
3. Login flood: 400 sign-ins with wrong passwords, 50 at a time, for a real user and for
   made-up names.
4. Schemathesis against the OpenAPI document: a hook for the property-based run that belongs to
   another part of issue 10 (``schemathesis_phase``); skipped here.

Printed per phase: answers by status, 5xx answers (and requests that got no answer), the
slowest answer, server memory before, at its peak and after, and the slowest /healthz
meanwhile. Targets: an unauthenticated 1 GiB body answered in under 1 s with the server's
memory growing under 20 MB; no 5xx anywhere; /healthz under 1 s throughout.

    .venv/bin/python bench/abuse.py [--backend sqlite|postgresql] [--views 100]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
warnings.filterwarnings("ignore", message="Using `httpx`")

from support import (  # noqa: E402
    DEFAULT_PG_URL,
    SECRET_KEY,
    DatabaseUnavailable,
    fresh_database,
    load_note,
)

from tests.factories import PASSWORD, add_token, add_user, csrf_of  # noqa: E402
from tests.web.serving import Body, large_html_mail  # noqa: E402
from ticketbridge.core.roles import Role  # noqa: E402
from ticketbridge.storage.db import make_engine, make_session_factory  # noqa: E402

GIB = 1024 * 1024 * 1024
MAIL_BYTES = 17_000_000
STARTUP_SECONDS = 120
JSON = {"Content-Type": "application/json"}
BOUNDARY = "abuse-boundary"
MULTIPART = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
FILE_PART = (
    f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"; filename="huge.eml"\r\n'
    "Content-Type: message/rfc822\r\n\r\n"
).encode()


# --- the server and what we watch of it ---------------------------------------------------------


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server(database_url: str, folder: Path) -> Iterator[Server]:
    port = _free_port()
    env = {
        **os.environ,
        "TICKETBRIDGE_DATABASE_URL": database_url,
        "TICKETBRIDGE_SECRET_KEY": SECRET_KEY,
        "TICKETBRIDGE_VAR_DIR": str(folder / "var"),
        "TICKETBRIDGE_LOG_LEVEL": "WARNING",
    }
    log = folder / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "ticketbridge", "serve", "--host", "127.0.0.1",
             "--port", str(port)],
            env=env, stdout=out, stderr=subprocess.STDOUT, cwd=folder,
        )  # fmt: skip
    found = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            try:
                httpx.get(f"{found.url}/healthz", timeout=5).raise_for_status()
                break
            except httpx.HTTPError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the server did not start; see {log}") from None
                time.sleep(0.2)
        yield found
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Watch:
    """While a phase runs: the server's peak memory, and /healthz asked again and again."""

    def __init__(self, target: Server) -> None:
        self.target = target
        self.stop = threading.Event()
        self.peak = 0.0
        self.health: list[float] = []
        self.health_failures: list[str] = []
        self.threads = [
            threading.Thread(target=self._sample, daemon=True),
            threading.Thread(target=self._ask_health, daemon=True),
        ]

    def __enter__(self) -> Watch:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()

    def _sample(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, self.target.rss_mib())
            self.stop.wait(0.02)

    def _ask_health(self) -> None:
        with httpx.Client(base_url=self.target.url, timeout=120) as client:
            while not self.stop.is_set():
                start = time.perf_counter()
                try:
                    status = client.get("/healthz").status_code
                except httpx.HTTPError as exc:
                    status, note = 599, repr(exc)
                else:
                    note = f"status {status}"
                self.health.append(time.perf_counter() - start)
                if status != 200:
                    self.health_failures.append(note)
                self.stop.wait(0.01)


@dataclass
class Answers:
    statuses: Counter[int] = field(default_factory=Counter)
    seconds: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def time(self, call: Callable[[], httpx.Response]) -> httpx.Response | None:
        start = time.perf_counter()
        try:
            response: httpx.Response | None = call()
            status = response.status_code if response is not None else 599
        except httpx.HTTPError as exc:
            response, status = None, 599  # no answer at all counts as a server error
            with self.lock:
                self.notes.append(repr(exc)[:200])
        took = time.perf_counter() - start
        with self.lock:
            self.statuses[status] += 1
            self.seconds.append(took)
            if response is not None and status >= 500:
                self.notes.append(f"{status} {response.text[:200]}")
        return response

    @property
    def five_xx(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)


@dataclass
class Phase:
    name: str
    answers: Answers
    rss_before: float
    rss_peak: float
    rss_after: float
    health: list[float]
    health_failures: list[str]
    lines: list[str]


@contextmanager
def phase(target: Server, name: str, phases: list[Phase]) -> Iterator[tuple[Answers, list[str]]]:
    answers, lines = Answers(), []
    before = target.rss_mib()
    with Watch(target) as watch:
        yield answers, lines
    phases.append(
        Phase(name, answers, before, max(watch.peak, before), target.rss_mib(),
              watch.health, watch.health_failures, lines)
    )  # fmt: skip


# --- the phases ----------------------------------------------------------------------------------


def _post_body(
    target: Server, answers: Answers, lines: list[str], label: str, path: str,
    headers: dict[str, str], body: Body,
) -> httpx.Response | None:  # fmt: skip
    response = answers.time(
        lambda: httpx.post(target.url + path, content=body, headers=headers, timeout=600)
    )
    status = response.status_code if response is not None else "no answer"
    lines.append(
        f"{label:40} {status}  in {answers.seconds[-1] * 1000:6.0f} ms, "
        f"{body.sent / 2**20:5.0f} MiB sent; server {target.rss_mib():.0f} MiB"
    )
    return response


def huge_bodies(target: Server, token: str, phases: list[Phase], *, spool: bool) -> None:
    bearer = {"Authorization": f"Bearer {token}"}
    length = {"Content-Length": str(GIB)}
    anonymous = [
        ("runs, no token, Content-Length", "/api/v1/runs", {**JSON, **length}, b""),
        ("runs, no token, chunked", "/api/v1/runs", JSON, b""),
        ("mail upload, no token", "/api/v1/mail/upload", {**MULTIPART, **length}, FILE_PART),
        ("UI upload, not signed in", "/inbox/upload", {**MULTIPART, **length}, FILE_PART),
    ]
    with phase(target, "1 GiB bodies without credentials", phases) as (answers, lines):
        for label, path, headers, prefix in anonymous:
            _post_body(target, answers, lines, label, path, headers, Body(GIB, prefix=prefix))
    with phase(target, "1 GiB bodies with a token", phases) as (answers, lines):
        for label, headers in (
            ("runs, Content-Length", {**JSON, **bearer, **length}),
            ("runs, chunked (read up to the 32 MiB cap)", {**JSON, **bearer}),
        ):
            _post_body(target, answers, lines, label, "/api/v1/runs", headers, Body(GIB))
        if spool:
            # Within the upload's cap (100 mails at the mail size limit): spooled to a
            # temporary file, then its one file is refused for size.
            body = Body(GIB, prefix=FILE_PART, suffix=f"\r\n--{BOUNDARY}--\r\n".encode())
            label = "mail upload, one 1 GiB file (spooled)"
            response = _post_body(
                target, answers, lines, label, "/api/v1/mail/upload", {**MULTIPART, **bearer}, body
            )
            if response is not None and response.status_code >= 400:
                lines.append(f"  {response.json()['error']['message']}")


def large_mail(
    target: Server, token: str, reporter: httpx.Client, views: int, phases: list[Phase]
) -> None:
    bearer = {"Authorization": f"Bearer {token}"}

    def upload(raw: bytes) -> httpx.Response:
        return httpx.post(
            target.url + "/api/v1/mail/upload",
            files=[("files", ("large.eml", raw, "message/rfc822"))],
            headers=bearer,
            timeout=600,
        )

    with phase(target, "a 17 MB HTML mail uploaded", phases) as (answers, lines):
        response = answers.time(lambda: upload(large_html_mail(MAIL_BYTES)))
        assert response is not None and response.status_code == 200, response
        mail_id = int(response.json()[0]["mail_id"])
        lines.append(f"stored as mail {mail_id} in {answers.seconds[-1]:.1f} s")

    with phase(target, "five 17 MB HTML mails uploaded at once", phases) as (answers, lines):
        mails = [
            large_html_mail(MAIL_BYTES, message_id=f"large-{n}@acme.example") for n in range(5)
        ]
        with ThreadPoolExecutor(len(mails)) as pool:
            list(pool.map(lambda raw: answers.time(lambda: upload(raw)), mails))
        del mails
        lines.append(f"slowest upload {max(answers.seconds):.1f} s")

    with phase(target, f"{views} reporters view the 17 MB mail at once", phases) as (
        answers,
        lines,
    ):
        capped = Counter[bool]()

        def view(_: int) -> None:
            response = answers.time(lambda: reporter.get(f"/inbox/{mail_id}"))
            if response is not None and response.status_code == 200:
                capped["Download the raw mail" in response.text] += 1

        with ThreadPoolExecutor(views) as pool:
            list(pool.map(view, range(views)))
        seconds = sorted(answers.seconds)
        lines.append(
            f"answer p50 {statistics.median(seconds) * 1000:.0f} ms, max "
            f"{seconds[-1] * 1000:.0f} ms; pages capped with a raw download link: "
            f"{capped[True]} of {views}"
        )


def login_flood(target: Server, phases: list[Phase], *, attempts: int, at_once: int) -> None:
    with phase(target, f"login flood: {attempts} wrong passwords, {at_once} at a time", phases) as (
        answers,
        lines,
    ):

        def attacker(n: int) -> None:
            with httpx.Client(base_url=target.url, timeout=120) as client:
                csrf = csrf_of(client.get("/login").text)
                for i in range(attempts // at_once):
                    username = "reporter" if n % 2 == 0 else f"nobody-{n}-{i}"
                    answers.time(
                        lambda u=username: client.post(  # type: ignore[misc]
                            "/login",
                            data={"username": u, "password": "wrong", "csrf_token": csrf},
                            follow_redirects=False,
                        )
                    )

        with ThreadPoolExecutor(at_once) as pool:
            list(pool.map(attacker, range(at_once)))
        seconds = sorted(answers.seconds)
        lines.append(
            f"answer p50 {statistics.median(seconds) * 1000:.0f} ms, "
            f"max {seconds[-1] * 1000:.0f} ms"
        )


def schemathesis_phase(target: Server, phases: list[Phase]) -> None:
    """HOOK (issue 10, the API schema part, another helper's): a property-based run of
    schemathesis against ``{target.url}/api/v1/openapi.json`` with an admin token belongs
    here, its answers counted like the phases above. Skipped until that part lands."""
    print("schemathesis against the OpenAPI document: skipped (hook: schemathesis_phase)")


# --- the bench -----------------------------------------------------------------------------------


def report(phases: list[Phase], target: Server, baseline: float) -> bool:
    ok = True
    for p in phases:
        health = max(p.health) if p.health else float("nan")
        print(f"\n{p.name}")
        for line in p.lines:
            print(f"  {line}")
        answers = ", ".join(f"{n}x {status}" for status, n in sorted(p.answers.statuses.items()))
        print(f"  answers                 {answers}; 5xx or no answer: {p.answers.five_xx}")
        print(
            f"  server memory           {p.rss_before:.0f} MiB before, peak {p.rss_peak:.0f} MiB "
            f"(+{p.rss_peak - p.rss_before:.0f}), {p.rss_after:.0f} MiB after"
        )
        print(
            f"  /healthz meanwhile      slowest {health * 1000:.0f} ms of {len(p.health)}; "
            f"failed {len(p.health_failures)}"
        )
        for note in (p.answers.notes + p.health_failures)[:5]:
            print(f"    {note}")
        ok = ok and p.answers.five_xx == 0 and not p.health_failures
    bodies = next(p for p in phases if p.name == "1 GiB bodies without credentials")
    anonymous = bodies.answers.seconds
    growth = bodies.rss_peak - bodies.rss_before
    tracebacks = target.log.read_text(errors="replace").count("Traceback")
    slowest_health = max(max(p.health) for p in phases if p.health)
    print(f"\nserver memory at start {baseline:.0f} MiB; tracebacks in the server log {tracebacks}")
    print(f"{load_note()}")
    targets = {
        "unauthenticated 1 GiB answered under 1 s": max(anonymous) < 1.0,
        "memory growth under 20 MB during the bodies": growth < 20,
        "no 5xx": ok,
        "/healthz under 1 s throughout": slowest_health < 1.0,
    }
    for name, met in targets.items():
        print(f"  {name}: {'met' if met else 'MISSED'}")
    return all(targets.values())


def run(database_url: str, folder: Path, args: argparse.Namespace) -> bool:
    engine = make_engine(database_url)
    db = make_session_factory(engine)
    add_user(db, "reporter", Role.REPORTER)
    token = add_token(db, Role.OPERATOR)
    engine.dispose()
    phases: list[Phase] = []
    with server(database_url, folder) as target:
        with httpx.Client(
            base_url=target.url,
            timeout=600,
            limits=httpx.Limits(max_connections=args.views, max_keepalive_connections=args.views),
        ) as reporter:
            csrf = csrf_of(reporter.get("/login").text)
            signed_in = reporter.post(
                "/login",
                data={"username": "reporter", "password": PASSWORD, "csrf_token": csrf},
                follow_redirects=False,
            )
            assert signed_in.status_code == 303, signed_in.text
            baseline = target.rss_mib()
            huge_bodies(target, token, phases, spool=args.spool)
            large_mail(target, token, reporter, args.views, phases)
        login_flood(target, phases, attempts=args.logins, at_once=50)
        schemathesis_phase(target, phases)
        return report(phases, target, baseline)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--postgres-url", default=os.environ.get("TICKETBRIDGE_TEST_DATABASE_URL", DEFAULT_PG_URL)
    )
    parser.add_argument("--views", type=int, default=100, help="concurrent views of the mail")
    parser.add_argument("--logins", type=int, default=400, help="wrong sign-ins in the flood")
    parser.add_argument(
        "--spool",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="--no-spool: skip the authenticated 1 GiB upload (writes 1 GiB to a temp file)",
    )
    args = parser.parse_args()
    print(f"abuse on {args.backend}: ticketbridge serve in its own process, clients here")
    with tempfile.TemporaryDirectory() as name:
        try:
            with fresh_database(args.backend, Path(name), args.postgres_url) as url:
                ok = run(url, Path(name), args)
        except DatabaseUnavailable as exc:
            print(f"skipped: {exc}")
            return
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
