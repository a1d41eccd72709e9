"""Alert mails as RMM tools send them: a message, and an ATES token with credentials."""

from __future__ import annotations

from email.charset import QP, Charset
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

SOURCE = "XYZ Monitoring Application"
MAIL_ID = "acmemsp.com"
MAIL_PASSWORD = "zzZ3zZ/2Z1ZzzZZZ0zoZ9z=="
SECRETS = (MAIL_ID, MAIL_PASSWORD)


def token(
    *,
    customer: str | None = "100",
    device: str | None = "123",
    alert: str | None = "8932",
    ticket: str | None = None,
    source: str = SOURCE,
    quote: str = "”",
) -> str:
    """The vendor's sample shape, with its typographic quotes by default."""
    q = quote
    lines = ["<Autotask>", f"<ID name={q}{MAIL_ID}{q}/>", f"<PW name={q}{MAIL_PASSWORD}{q}/>"]
    for element, value in (
        ("CustomerID", customer),
        ("DeviceID", device),
        ("AlertID", alert),
        ("TicketID", ticket),
    ):
        if value is not None:
            lines.append(f"<{element} source={q}{source}{q} name={q}{value}{q}/>")
    lines.append("</Autotask>")
    return "\n".join(lines)


def alert_mail(
    n: int = 1,
    *,
    subject: str = "Disk space low on SRV01",
    text: str = "Disk C: on SRV01 is below 5 % free.",
    html: bool = True,
    quoted_printable: bool = True,
    sender: str = "alerts@rmm.example",
    **token_fields: str | None,
) -> bytes:
    """A multipart alert mail: plain text with the token, and (``html``) the same HTML-escaped
    in an HTML part, quoted-printable (or 8bit), as RMM tools send them."""
    body = f"{text}\n\n{token(**token_fields)}\n"  # type: ignore[arg-type]
    charset = Charset("utf-8")
    charset.body_encoding = QP if quoted_printable else None
    message = MIMEMultipart("alternative")
    message["From"] = f"RMM <{sender}>"
    message["To"] = "alerts@msp.example"
    message["Subject"] = subject
    message["Message-ID"] = f"<alert-{n}@rmm.example>"
    message["Date"] = "Fri, 20 Nov 2026 11:00:00 +0000"
    message.attach(MIMEText(body, "plain", charset))
    if html:
        escaped = body.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        markup = "<html><body><p>" + escaped.replace("\n", "<br>\n") + "</p></body></html>"
        message.attach(MIMEText(markup, "html", charset))
    return message.as_bytes().replace(b"\n", b"\r\n")
