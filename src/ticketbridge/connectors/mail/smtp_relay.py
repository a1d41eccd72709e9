"""Outbound mail through the SMTP relay an installation names (smtplib).

``security``: ``none`` (plain, for a relay on loopback or the internal network), ``starttls``
(upgrade on port 587, refused when the relay does not offer it: a password must never travel
in clear because the relay forgot TLS) or ``tls`` (implicit TLS, port 465). A username and
password log in; without them the relay must accept us by address.

SMTP answers map onto connectors/errors.py: 4xx is temporary (`ConnectorUnavailable`), 5xx on
a sender, recipient or the data is final for this message (`RemoteRejected`), 535 and friends
are `ConnectorAuthError`; a relay that cannot be reached or hangs up is `ConnectorUnavailable`.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from ticketbridge.connectors.errors import (
    ConnectorAuthError,
    ConnectorConfigError,
    ConnectorError,
    ConnectorUnavailable,
    RemoteRejected,
)

Security = Literal["none", "starttls", "tls"]
_DEFAULT_PORTS = {"none": 25, "starttls": 587, "tls": 465}


class SmtpRelayConfig(BaseModel):
    """A relay's settings; the password is stored encrypted, apart from the rest."""

    model_config = ConfigDict(extra="forbid")

    host: str = Field(min_length=1, max_length=255)
    port: int | None = Field(default=None, ge=1, le=65535)  # None: the security's usual port
    security: Security = "starttls"
    username: str = Field(default="", max_length=320)
    password: SecretStr | None = None
    verify_tls: bool = True
    timeout_seconds: float = Field(default=30.0, gt=0, le=300)

    @model_validator(mode="after")
    def _password_has_its_user(self) -> SmtpRelayConfig:
        if self.password is not None and not self.username:
            raise ValueError("a password needs the username it belongs to")
        return self

    @property
    def effective_port(self) -> int:
        return self.port or _DEFAULT_PORTS[self.security]


class SmtpRelaySender:
    """One message per connection: notifications are few, and a fresh connection cannot
    fail on a session the relay timed out meanwhile."""

    Config = SmtpRelayConfig

    def __init__(self, config: SmtpRelayConfig) -> None:
        self.config = config

    def send(self, message: EmailMessage, *, recipients: Sequence[str]) -> None:
        where = f"the SMTP relay {self.config.host}:{self.config.effective_port}"
        try:
            with self._connect() as smtp:
                self._secure_and_log_in(smtp, where)
                smtp.send_message(message, to_addrs=list(recipients))
        except ConnectorError:
            raise
        except smtplib.SMTPAuthenticationError as exc:
            raise ConnectorAuthError(
                f"{where} refused the username or password (SMTP {exc.smtp_code})."
            ) from None
        except smtplib.SMTPRecipientsRefused as exc:
            codes = sorted({code for code, _ in exc.recipients.values()})
            raise _answer(where, codes[-1] if codes else 550, "refused the recipient") from None
        except smtplib.SMTPResponseException as exc:
            raise _answer(where, exc.smtp_code, "refused the message") from None
        except ssl.SSLCertVerificationError:
            raise ConnectorConfigError(
                f"{where} presented a certificate that could not be verified."
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise ConnectorUnavailable(f"Could not reach {where} ({type(exc).__name__}).") from None

    def close(self) -> None:
        pass  # nothing is kept open between messages

    def _connect(self) -> smtplib.SMTP:
        cfg = self.config
        if cfg.security == "tls":
            return smtplib.SMTP_SSL(
                cfg.host, cfg.effective_port, timeout=cfg.timeout_seconds, context=self._tls()
            )
        return smtplib.SMTP(cfg.host, cfg.effective_port, timeout=cfg.timeout_seconds)

    def _secure_and_log_in(self, smtp: smtplib.SMTP, where: str) -> None:
        cfg = self.config
        if cfg.security == "starttls":
            smtp.ehlo()
            if not smtp.has_extn("starttls"):
                raise ConnectorConfigError(f"{where} does not offer STARTTLS.")
            smtp.starttls(context=self._tls())
            smtp.ehlo()
        if cfg.username and cfg.password is not None:
            smtp.login(cfg.username, cfg.password.get_secret_value())

    def _tls(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if not self.config.verify_tls:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def __repr__(self) -> str:
        return f"SmtpRelaySender({self.config.host!r}, port={self.config.effective_port})"


def _answer(where: str, code: int, what: str) -> ConnectorError:
    if 400 <= code < 500:
        return ConnectorUnavailable(f"{where} {what} for now (SMTP {code}); it will be retried.")
    return RemoteRejected(f"{where} {what} (SMTP {code}).", status_code=code)
