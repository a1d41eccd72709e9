"""Veeam Agent for Windows / Linux, standalone (and vee-mail's look-alike for the Linux agent).

Same HTML family as B&R, titled ``Agent Backup job: <name>``; what tells it apart is the footer
(``Veeam Agent for Windows|Linux <version>``; vee-mail adds ``Vee-Mail Version``). The one object
row is the protected computer, which is also the host. The agent mails once on the first error
and again with the final result; both describe the same session (same job and start).
"""

from __future__ import annotations

import re

from ticketbridge.connectors.parsers.veeam_br import SUBJECT, build_report
from ticketbridge.connectors.parsers.veeam_html import read_session
from ticketbridge.core.reports import MailMessage, ParsedReport

NAME = "veeam_agent"
PRODUCT = "Veeam Agent"
_FOOTER = re.compile(r"Veeam Agent for (?:Microsoft )?(Windows|Linux|Mac)", re.I)


def matches(msg: MailMessage) -> bool:
    return bool(_FOOTER.search(msg.html)) and "jobDescription" in msg.html


def parse(msg: MailMessage) -> list[ParsedReport]:
    session = read_session(msg.html, msg.date)
    if session is None:
        return []
    platform = _FOOTER.search(session.footer or msg.html)
    variant = platform.group(1).lower() if platform else ""
    if "vee-mail" in msg.html.lower():
        variant = "vee-mail"
    host = session.objects[0].name if len(session.objects) == 1 else ""
    product = f"{PRODUCT} for {platform.group(1).capitalize()}" if platform else PRODUCT
    report = build_report(
        msg, session, SUBJECT.match(msg.subject), product=product, variant=variant, host=host
    )
    return [report]
