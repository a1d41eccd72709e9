"""What the mail intake benchmarks share: the test suite's private Dovecot on loopback, and one
IMAP source on it whose every mail is filed under one customer.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from imapclient import IMAPClient

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # the Dovecot fixture lives in the test tree

from tests.services import dovecot as dovecot_fixture  # noqa: E402
from ticketbridge.services.mail import inbox  # noqa: E402
from ticketbridge.services.mail import sources as mail_sources  # noqa: E402
from ticketbridge.services.runs import catalog  # noqa: E402
from ticketbridge.services.runtime import Runtime  # noqa: E402

DovecotServer = dovecot_fixture.DovecotServer


@contextlib.contextmanager
def dovecot() -> Iterator[DovecotServer | None]:
    """The test suite's Dovecot, stopped afterwards; None (and a note) when it is not installed."""
    if dovecot_fixture._module._dovecot_binary() is None:
        print("dovecot not installed (bash tests/connectors/mail/install_dovecot.sh); skipped")
        yield None
        return
    with contextlib.contextmanager(dovecot_fixture.dovecot.__wrapped__)() as server:
        yield server


def mailbox(server: DovecotServer) -> tuple[IMAPClient, str, str]:
    """A fresh, empty account on `server`: a client logged in to it, its user and password."""
    user, password = server.add_user()
    client = IMAPClient(server.host, port=server.port, ssl=False, timeout=30)
    client.login(user, password)
    return client, user, password


def add_imap_source(
    runtime: Runtime, server: DovecotServer, user: str, password: str, **config: Any
) -> int:
    """An imap source reading `user`'s INBOX and a rule filing all its mail under one customer;
    returns the source's id. `config` adds to the source's configuration (batch_size, ...)."""
    with runtime.session_factory() as session:
        customer = catalog.create_customer(session, "Bench Customer", actor="bench")
        inbox.create_rule(
            session, sender="", subject_pattern="*", customer_id=customer.id, actor="bench"
        )
        source = mail_sources.create_source(
            session,
            runtime.secret_box,
            kind="imap",
            name="bench",
            config={
                "host": server.host,
                "port": server.port,
                "security": "plain",
                "username": user,
                **config,
            },
            secret=password,
            actor="bench",
        )
        session.commit()
        return source.id
