"""IMAP error translation and connection helpers, kept apart from the source's fetch logic."""

from __future__ import annotations

import ssl
from contextlib import suppress

from imapclient import IMAPClient
from imapclient.exceptions import CapabilityError, IMAPClientAbortError, IMAPClientError, LoginError

from ticketbridge.connectors.errors import (
    ConnectorAuthError,
    ConnectorConfigError,
    ConnectorError,
    ConnectorUnavailable,
    RemoteRejected,
)


def translate_error(exc: BaseException, where: str, action: str) -> ConnectorError:
    # Order matters: the ssl and imapclient classes derive from OSError and IMAPClientError.
    if isinstance(exc, LoginError):
        return ConnectorAuthError(f"IMAP server {where} refused the username or password.")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return ConnectorConfigError(
            f"The TLS certificate of {where} could not be verified ({exc.verify_message})."
        )
    if isinstance(exc, ssl.SSLError):
        return ConnectorConfigError(
            f"TLS with {where} failed ({exc.reason}); check the port and the security mode."
        )
    if isinstance(exc, CapabilityError):
        return ConnectorConfigError(f"IMAP server {where} cannot {action}: {exc}")
    if isinstance(exc, IMAPClientAbortError):
        return ConnectorUnavailable(
            f"IMAP server {where} dropped the connection while trying to {action}."
        )
    if isinstance(exc, IMAPClientError):
        return RemoteRejected(f"IMAP server {where} refused to {action}: {server_text(exc)}")
    if isinstance(exc, TimeoutError):
        return ConnectorUnavailable(f"IMAP server {where} did not answer in time.")
    return ConnectorUnavailable(f"Could not reach IMAP server {where} ({type(exc).__name__}).")


def tls_context(verify: bool) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if not verify:
        # An operator's explicit choice for servers with self-signed certificates.
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def server_text(exc: BaseException) -> str:
    text = str(exc)
    return text[:200] if text else type(exc).__name__


def logout_quietly(client: IMAPClient) -> None:
    try:
        client.logout()
    except (IMAPClientError, OSError):
        with suppress(OSError):
            client.shutdown()
