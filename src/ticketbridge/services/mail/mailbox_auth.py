"""`ticketbridge mailbox authenticate`: how a Microsoft 365 source gets its tokens, checked.

- App-only (client credentials, the default): a token for the app and one read of the mailbox
  prove the tenant, app, secret and permissions. A delegated sign-in stored before is then
  dropped, so the source reads app-only again.
- Delegated (device code): the user signs in on another device; msal's token cache (with the
  refresh token) is stored encrypted in ``mail_sources.token_cache``, and the source then gets
  its tokens silently from it (connectors/mail/graph_auth.py), writing the cache back only when
  msal changed it. Checking a stored sign-in forces a refresh, so an expired or revoked refresh
  token is found now rather than at the next poll.

No database connection is held while the user signs in. The connector's messages say what to
do (grant consent, sign in again, fix the tenant or app); they never hold a token.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from ticketbridge.connectors.registry import load
from ticketbridge.services.mail import sources as mail_sources
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.system import audit
from ticketbridge.storage.db import session_scope
from ticketbridge.storage.models import MailSource
from ticketbridge.storage.secrets import SecretBox

# kind -> the module with `sign_in_with_device_code` and `DelegatedTokenProvider`.
SIGN_IN: dict[str, str] = {"graph": "ticketbridge.connectors.mail.graph_auth"}

Show = Callable[[str, str, str], None]


class NotSignable(ValueError):
    """The source cannot be authenticated this way (not Microsoft 365, or no sign-in stored)."""


@dataclass
class StoredTokenCache:
    """A source's token cache: read once, written back encrypted when msal changed it."""

    name: str
    source_id: int
    box: SecretBox
    factory: sessionmaker[Session] | None
    encrypted: str | None

    @classmethod
    def of(
        cls, source: MailSource, box: SecretBox, factory: sessionmaker[Session] | None
    ) -> StoredTokenCache:
        return cls(source.name, source.id, box, factory, source.token_cache)

    def load(self) -> str | None:
        return self.box.decrypt(self.encrypted) if self.encrypted else None

    def save(self, serialized: str) -> None:
        self.encrypted = self.box.encrypt(serialized)
        if self.factory is None:
            return  # a one-off check: msal renews again next time
        with session_scope(self.factory) as session:
            session.execute(
                update(MailSource)
                .where(MailSource.id == self.source_id)
                .values(token_cache=self.encrypted)
                .execution_options(synchronize_session=False)
            )


@dataclass(frozen=True)
class Checked:
    source: str
    mailbox: str  # what one read of it found
    account: str = ""  # the user who signed in (delegated)
    dropped_sign_in: bool = False  # app-only now: the stored delegated sign-in was removed


def _signable(session: Session, name: str) -> MailSource:
    source = mail_sources.find_source(session, name)
    if source.kind not in SIGN_IN:
        raise NotSignable(
            f"mail source {source.name!r} is an {source.kind} source: only Microsoft 365 "
            "(graph) sources sign in"
        )
    return source


def check_app_only(runtime: Runtime, name: str, *, actor: str, **options: Any) -> Checked:
    """A client-credentials token and one read of the mailbox; then the source reads app-only."""
    with runtime.session_factory() as session:
        source = _signable(session, name)
        if not source.secret:
            raise NotSignable(
                f"mail source {source.name!r} has no client secret, so it cannot read as the "
                "app: enter the app's client secret for it, or sign the mailbox's user in with "
                f"`ticketbridge mailbox authenticate {source.name} --device-code`"
            )
        connector = mail_sources.connector_for(
            source, runtime.secret_box, token_cache=None, **options
        )
        source_id, source_name, delegated = source.id, source.name, bool(source.token_cache)
    try:
        found = connector.check()
    finally:
        connector.close()
    if delegated:
        with session_scope(runtime.session_factory) as session:
            row = session.get(MailSource, source_id)
            if row is not None:
                row.token_cache = None
                audit.record(
                    session,
                    actor=actor,
                    action="mail_source.sign_in_removed",
                    subject=f"mail source {source_id}",
                    details={"reason": "authenticated with client credentials"},
                )
    return Checked(source_name, found, dropped_sign_in=delegated)


def sign_in(
    runtime: Runtime, name: str, *, show: Show, actor: str, http_client: Any = None
) -> Checked:
    """The device code flow for a delegated mailbox; the cache stored encrypted; one read."""
    with runtime.session_factory() as session:
        source = _signable(session, name)
        config = mail_sources.config_for(source, runtime.secret_box)
        kind, source_id, source_name = source.kind, source.id, source.name
    auth = load(kind, SIGN_IN)
    serialized, account = auth.sign_in_with_device_code(
        config, name=source_name, show=show, http_client=http_client
    )
    with session_scope(runtime.session_factory) as session:
        row = session.get(MailSource, source_id)
        if row is None:
            raise mail_sources.SourceNotFound(f"mail source {source_name!r} was deleted meanwhile")
        row.token_cache = runtime.secret_box.encrypt(serialized)
        audit.record(
            session,
            actor=actor,
            action="mail_source.signed_in",
            subject=f"mail source {source_id}",
            details={"account": account},
        )
    return Checked(source_name, _read(runtime, source_id), account=account)


def check_sign_in(runtime: Runtime, name: str, *, http_client: Any = None) -> Checked:
    """A stored delegated sign-in refreshed now (so an expired refresh token shows) and used
    for one read of the mailbox."""
    with runtime.session_factory() as session:
        source = _signable(session, name)
        if not source.token_cache:
            raise NotSignable(f"mail source {source.name!r} has no delegated sign-in stored")
        config = mail_sources.config_for(source, runtime.secret_box)
        store = StoredTokenCache.of(source, runtime.secret_box, runtime.session_factory)
        kind, source_id = source.kind, source.id
    provider = load(kind, SIGN_IN).DelegatedTokenProvider(
        config, store, force_refresh=True, http_client=http_client
    )
    provider()  # raises with what to do when the refresh is refused
    return Checked(store.name, _read(runtime, source_id, token_provider=provider))


def _read(runtime: Runtime, source_id: int, **options: Any) -> str:
    with runtime.session_factory() as session:
        source = mail_sources.get_source(session, source_id)
        connector = mail_sources.connector_for(
            source, runtime.secret_box, factory=runtime.session_factory, **options
        )
    try:
        return str(connector.check())
    finally:
        connector.close()
