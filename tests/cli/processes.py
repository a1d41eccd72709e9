"""A ``ticketbridge`` command run as a real process, as an operator would start it: a free
loopback port for it, its standard error read all along (the pipe never fills) and kept."""

from __future__ import annotations

import queue
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

STARTED = "Application startup complete"  # uvicorn's line, once per process serving the app
# uvicorn's line once the socket is bound, which comes after the startup line of a single
# process: a request sent between the two is refused.
LISTENING = "Uvicorn running on"
EXITED = ""  # put once the command's standard error closes
BOUND_SECONDS = 120  # a bound on a hung start or stop, not a figure under test


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Command:
    """``python -m ticketbridge *args`` in ``cwd`` (no .env of the checkout) with ``env``."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path) -> None:
        self.lines: list[str] = []
        self._started: queue.SimpleQueue[str] = queue.SimpleQueue()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ticketbridge", *args],
            env=env,
            cwd=cwd,
            stdout=subprocess.DEVNULL,  # banners for a person; the logs go to stderr
            stderr=subprocess.PIPE,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line)
            if STARTED in line or LISTENING in line:
                self._started.put(line)
        self._started.put(EXITED)

    def wait_started(self, processes: int = 1) -> None:
        """Until ``processes`` apps said they are up and the socket listens (fails the test on
        a hung start, or at once when the command exits instead)."""
        started = listening = 0
        try:
            while started < processes or not listening:
                line = self._started.get(timeout=BOUND_SECONDS)
                if line == EXITED:
                    pytest.fail("the command exited before it served:\n" + self.stderr)
                started += STARTED in line
                listening += LISTENING in line
        except queue.Empty:
            pytest.fail("the command did not start:\n" + self.stderr)

    def interrupt(self) -> int:
        """Ctrl+C, and its exit code once it stopped."""
        self.process.send_signal(signal.SIGINT)
        code = self.process.wait(timeout=BOUND_SECONDS)
        self._reader.join(timeout=30)
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._reader.join(timeout=30)

    @property
    def stderr(self) -> str:
        return "".join(self.lines)
