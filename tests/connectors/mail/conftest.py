"""A private Dovecot on a free loopback port for the IMAP tests.

Debian's dovecot-imapd (2.3) is started with its own configuration in a temporary directory
(after the verified setup in the mail research notes, section 4.4). The tests skip, saying why,
when the binary is missing; tests/connectors/mail/install_dovecot.sh installs it.
"""

from __future__ import annotations

import contextlib
import ctypes
import ipaddress
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

USER_POOL = 200

_CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/run/state
instance_name = ticketbridge-test-{port}
log_path = {root}/dovecot.log
# TLS on the imaps port and STARTTLS on the plain one; plain logins stay allowed for tests.
ssl = yes
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
# Failed logins are delayed 2 s by default; the bad-password test needs no such wait.
auth_failure_delay = 0
first_valid_uid = 1
first_valid_gid = 1
default_internal_user = {internal_user}
default_internal_group = {internal_group}
default_login_user = {login_user}
mail_location = maildir:{root}/mail/%u
# IDLE notices new mail through inotify; this bounds the wake-up where inotify is missing.
mailbox_idle_check_interval = 1 secs
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = {userdb_args} home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
  }}
}}
# The penalty that slows every login from an address after a failed one, switched off.
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
namespace inbox {{
  inbox = yes
  separator = /
}}
"""


def _dovecot_binary() -> str | None:
    return shutil.which("dovecot") or shutil.which("dovecot", path="/usr/sbin:/usr/local/sbin")


def _self_signed_certificate(root: Path) -> None:
    """cert.pem (also the CA a test trusts) and key.pem for 127.0.0.1 and localhost."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    (root / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file = root / "key.pem"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_file.chmod(0o600)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_greeting(port: int, root: Path, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                if sock.recv(64).startswith(b"* OK"):
                    return
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            output = [
                p.read_text(errors="replace")
                for p in (root / "start.err", root / "dovecot.log")
                if p.exists()
            ]
            raise RuntimeError(f"Dovecot did not start on port {port}:\n{''.join(output)[-2000:]}")
        # Waiting for another process to bind its socket, not timing anything.
        time.sleep(0.02)


@dataclass
class DovecotServer:
    root: Path
    port: int  # plain IMAP, STARTTLS offered
    tls_port: int = 0  # IMAP over TLS
    host: str = "127.0.0.1"
    _counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def add_user(self) -> tuple[str, str]:
        """A fresh account with an empty mailbox, so tests never see each other's mail."""
        n = next(self._counter)
        if n > USER_POOL:
            raise RuntimeError(f"more than {USER_POOL} IMAP accounts requested; raise USER_POOL")
        return f"user{n}", f"secret-pass-{n}"


def _die_with_parent() -> None:
    # If the test run is killed, the kernel stops Dovecot too instead of leaving it behind.
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@pytest.fixture(scope="session")
def dovecot() -> Iterator[DovecotServer]:
    binary = _dovecot_binary()
    if binary is None:
        pytest.skip(
            "dovecot binary not found: install Debian's dovecot-imapd "
            "(tests/connectors/mail/install_dovecot.sh) to run the IMAP tests"
        )
    # Not under pytest's tmp_path: its parent is private to the current user, and the mail
    # processes run as the dovecot user.
    root = Path(tempfile.mkdtemp(prefix="ticketbridge-dovecot-"))
    root.chmod(0o755)
    port = _free_port()
    tls_port = _free_port()
    if os.geteuid() == 0:
        internal_user = internal_group = "dovecot"
        login_user = "dovenull"
        userdb_args = "uid=dovecot gid=dovecot"
    else:
        me = pwd.getpwuid(os.geteuid())
        internal_user = login_user = me.pw_name
        internal_group = me.pw_name
        userdb_args = f"uid={me.pw_uid} gid={me.pw_gid}"
    (root / "mail").mkdir()
    # Dovecot may not notice a passwd-file rewritten within the same second, so every
    # account exists from the start.
    (root / "users").write_text(
        "".join(f"user{n}:{{PLAIN}}secret-pass-{n}\n" for n in range(1, USER_POOL + 1)),
        encoding="utf-8",
    )
    if os.geteuid() == 0:
        shutil.chown(root / "mail", "dovecot", "dovecot")
    _self_signed_certificate(root)
    conf = root / "dovecot.conf"
    conf.write_text(
        _CONFIG.format(
            root=root,
            port=port,
            tls_port=tls_port,
            internal_user=internal_user,
            internal_group=internal_group,
            login_user=login_user,
            userdb_args=userdb_args,
        ),
        encoding="utf-8",
    )
    # -F keeps the master in the foreground, as our child, so it is ours to stop and reap.
    errors = (root / "start.err").open("wb")
    process = subprocess.Popen(
        [binary, "-F", "-c", str(conf)],
        stdin=subprocess.DEVNULL,
        stdout=errors,
        stderr=errors,
        preexec_fn=_die_with_parent if sys.platform == "linux" else None,
    )
    try:
        _wait_for_greeting(port, root, process)
        yield DovecotServer(root=root, port=port, tls_port=tls_port)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        errors.close()
        shutil.rmtree(root, ignore_errors=True)
