"""`ticketbridge mailbox watch` as an operator runs it: a process handling a Microsoft 365
mailbox in the foreground (the Graph emulator's sandbox over TLS, msal getting the tokens),
printing a line per mail it handled, and stopping cleanly on Ctrl-C."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

from sqlalchemy import select

from tests.cli.graph_mailbox import NAME, GraphMailbox, graph_mailbox, tls_files
from tests.services.service_desk.conftest import set_up_desk
from tests.web.serving import serve
from ticketbridge.emulators.jira import create_app as create_jira
from ticketbridge.storage.db import session_scope
from ticketbridge.storage.models import MailMessage, MailSource

__all__ = ["graph_mailbox", "tls_files"]  # fixtures
BOUND_SECONDS = 120  # a bound on a hung process, not a figure under test
EXITED = ""


class Watching:
    """The command's standard output, line by line, read on a thread (the pipe never fills)."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path) -> None:
        self.lines: queue.SimpleQueue[str] = queue.SimpleQueue()
        self.seen: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ticketbridge", *args],
            env=env,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(EXITED)

    def wait_for(self, text: str) -> str:
        while True:
            line = self.lines.get(timeout=BOUND_SECONDS)
            if line == EXITED:
                raise AssertionError(f"exited before {text!r}:\n" + "".join(self.seen))
            self.seen.append(line)
            if text in line:
                return line

    def interrupt(self) -> int:
        self.process.send_signal(signal.SIGINT)
        code = self.process.wait(timeout=BOUND_SECONDS)
        self._reader.join(timeout=30)
        while (line := self.lines.get(timeout=BOUND_SECONDS)) != EXITED:
            self.seen.append(line)
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def _env(mailbox: GraphMailbox) -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("TICKETBRIDGE_")}
    src = str(Path(__file__).resolve().parents[2] / "src")
    return {**inherited, **mailbox.env, "PYTHONPATH": src, "COLUMNS": "200"}


def _watch_one_mail(
    mailbox: GraphMailbox, args: list[str], subject: str, cwd: Path
) -> tuple[str, int, str]:
    """Start the command, deliver a mail once it watches, Ctrl-C once it printed the mail's
    line: (that line, the exit code, everything it printed)."""
    watching = Watching(["mailbox", "watch", *args], _env(mailbox), cwd)
    try:
        watching.wait_for(f"watching {NAME} (graph)")
        mailbox.deliver(subject)
        line = watching.wait_for(subject)
        code = watching.interrupt()
    finally:
        watching.kill()
    return line, code, "".join(watching.seen)


def test_watch_handles_a_mail_delivered_to_the_mailbox_and_stops_on_ctrl_c(
    graph_mailbox: GraphMailbox, tmp_path: Path
) -> None:
    line, code, printed = _watch_one_mail(graph_mailbox, [NAME], "Printer offline", tmp_path)

    assert f"{NAME}: mail" in line and "dana@customer.example" in line
    assert code == 0, printed
    assert "stopped" in printed and "Traceback" not in printed
    with graph_mailbox.runtime.session_factory() as session:
        assert session.scalars(select(MailMessage.subject)).all() == ["Printer offline"]
        source = session.get(MailSource, graph_mailbox.source_id)
        assert source is not None and source.lease_until is None  # the poll ended cleanly


def test_watch_makes_a_ticket_of_a_mail_to_a_service_desk_mailbox(
    graph_mailbox: GraphMailbox, tmp_path: Path
) -> None:
    with serve(create_jira(seed="empty")) as jira_url:
        set_up_desk(graph_mailbox.runtime, jira_url, graph_mailbox.source_id)

        line, code, printed = _watch_one_mail(graph_mailbox, [], "Laptop will not boot", tmp_path)

    assert ": ticket SUP-1" in line, line
    assert code == 0, printed


def test_watch_tells_a_refused_sign_in_once_and_keeps_running_until_ctrl_c(
    graph_mailbox: GraphMailbox, tmp_path: Path
) -> None:
    with session_scope(graph_mailbox.runtime.session_factory) as session:
        source = session.get(MailSource, graph_mailbox.source_id)
        assert source is not None
        source.secret = graph_mailbox.runtime.secret_box.encrypt("not-the-secret")
    watching = Watching(["mailbox", "watch", NAME], _env(graph_mailbox), tmp_path)
    try:
        line = watching.wait_for(f"{NAME}: error")
        code = watching.interrupt()
    finally:
        watching.kill()
    printed = "".join(watching.seen)
    assert "invalid_client" in line and "AADSTS7000215" in line
    assert "not-the-secret" not in printed
    assert printed.count(f"{NAME}: error") == 1, printed  # told once, not at every poll
    assert code == 0, printed
