"""De-duplication and identity keys for received mail. Pure functions, no I/O."""

from __future__ import annotations

import fnmatch
import hashlib
import re

from ticketbridge.core.reports import ParsedReport

MAX_KEY_LENGTH = 300
_ANGLE = re.compile(r"<([^<>]+)>")


def message_key(message_id_header: str, raw: bytes) -> str:
    """The Message-ID without angle brackets; "sha256:<hex>" of the raw bytes without one.

    A mail re-delivered by another route (a second mailbox, the SMTP receiver, an upload) keeps
    its Message-ID, so the same mail is stored once. Only mail without a Message-ID falls back
    to its bytes, which a relay may alter; such a mail may then be stored twice.
    """
    value = message_id_header.strip()
    found = _ANGLE.search(value)
    if found:
        value = found.group(1).strip()
    value = "".join(value.split())
    if not value or len(value) > MAX_KEY_LENGTH:
        return "sha256:" + hashlib.sha256(raw).hexdigest()
    return value


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:40]


def run_external_id(key: str, index: int) -> str:
    """The run id of the `index`-th run report of a mail: the same for every re-parse."""
    return f"mail:{key_digest(key)}:{index}"


def digest_of_run(external_id: str | None) -> str | None:
    """The mail's key digest from a mail run's external id (None for other runs)."""
    if not external_id or not external_id.startswith("mail:"):
        return None
    return external_id.split(":")[1] or None


def sender_key(address: str) -> str:
    return address.strip().lower()[:320]


def job_name_of(report: ParsedReport, subject: str) -> str:
    """Some products name no job (Macrium's plain reports); the host, then the subject, stand in."""
    name = report.job_name.strip() or report.host.strip() or subject.strip() or "(unnamed)"
    return name[:300]


def sender_matches(rule_sender: str, sender: str) -> bool:
    """A rule names an address ("backup@acme.com") or a domain ("acme.com" or "@acme.com");
    a domain also covers its subdomains."""
    rule = rule_sender.strip().lower()
    sender = sender.strip().lower()
    if not rule or not sender:
        return False
    if "@" in rule and not rule.startswith("@"):
        return rule == sender
    domain = rule.lstrip("@")
    sender_domain = sender.rpartition("@")[2]
    return sender_domain == domain or sender_domain.endswith("." + domain)


def subject_matches(pattern: str, subject: str) -> bool:
    """A glob ("*", "?") matched case-insensitively; without a wildcard, a substring test.

    Globs rather than regular expressions: an admin's pattern can never take exponential time.
    """
    pattern = pattern.strip().lower()
    if not pattern:
        return False
    if not any(char in pattern for char in "*?["):
        return pattern in subject.lower()
    return fnmatch.fnmatchcase(subject.lower(), pattern)
