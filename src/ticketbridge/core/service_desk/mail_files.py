"""The files of a desk mail that go onto its new ticket (issue 16, item 2). Pure; no I/O.

A file is every leaf part that is not the mail's text: attachments, inline images (a part with
a Content-ID, or an inline part that is not text) and attached mails (``message/rfc822``, kept
whole as ``.eml``). The plain and HTML bodies are the ticket's description, not files.

Limits, each skip with its reason: a file over the size limit or empty, a program or script
(by extension: what a mail filter would quarantine), more files than ``max_files``, or more
bytes than ``max_total_bytes`` for the mail. The same file twice in one mail (same name and
sha256, as signatures repeat logos) is sent once: the rule is the sync's
(:func:`ticketbridge.core.sync.attachments.plan_attachment`), so "the same file" means one
thing everywhere.
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
from dataclasses import dataclass, field
from email import policy
from email.message import Message
from email.parser import BytesParser

from ticketbridge.core.sync.attachments import (
    DEFAULT_MAX_BYTES,
    AttachmentAction,
    AttachmentFile,
    plan_attachment,
)

_PARSER = BytesParser(policy=policy.default)
_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"|?*]')
MAX_NAME_CHARS = 200
BLOCKED_EXTENSIONS = frozenset(
    {
        "bat", "cmd", "com", "cpl", "dll", "exe", "hta", "jar", "js", "jse", "lnk", "msi",
        "pif", "ps1", "reg", "scr", "vbe", "vbs", "wsf", "wsh",
    }
)  # fmt: skip


@dataclass(frozen=True)
class FileLimits:
    max_bytes: int = DEFAULT_MAX_BYTES
    max_files: int = 20
    max_total_bytes: int = 25 * 1024 * 1024
    blocked_extensions: frozenset[str] = field(default=BLOCKED_EXTENSIONS)


@dataclass(frozen=True)
class MailFile:
    name: str
    content_type: str
    data: bytes
    inline: bool

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    def as_attachment(self) -> AttachmentFile:
        return AttachmentFile(self.name, len(self.data), self.sha256)


@dataclass(frozen=True)
class SkippedFile:
    name: str
    reason: str


def mail_files(
    raw: bytes, limits: FileLimits = FileLimits()
) -> tuple[list[MailFile], list[SkippedFile]]:
    """The files to send, in the mail's order, and the ones not sent with why."""
    message = _PARSER.parsebytes(raw)
    chosen: list[MailFile] = []
    skipped: list[SkippedFile] = []
    total = 0
    for found in _files(message):
        extension = found.name.rpartition(".")[2].lower() if "." in found.name else ""
        if extension in limits.blocked_extensions:
            skipped.append(SkippedFile(found.name, f"a .{extension} file is not attached"))
            continue
        plan = plan_attachment(
            found.as_attachment(),
            [c.as_attachment() for c in chosen],
            max_bytes=limits.max_bytes,
        )
        if plan.action is AttachmentAction.SKIP_SAME:
            continue  # the same file again in this mail: silently once
        if not plan.action.uploads:
            skipped.append(SkippedFile(found.name, plan.reason))
        elif len(chosen) >= limits.max_files:
            skipped.append(SkippedFile(found.name, f"more than {limits.max_files} files"))
        elif total + len(found.data) > limits.max_total_bytes:
            skipped.append(
                SkippedFile(found.name, f"over {limits.max_total_bytes} bytes for one mail")
            )
        else:
            chosen.append(found)
            total += len(found.data)
    return chosen, skipped


def _files(message: Message) -> list[MailFile]:
    found: list[MailFile] = []
    _walk(message, found)
    return found


def _walk(part: Message, found: list[MailFile]) -> None:
    ctype = part.get_content_type()
    if ctype == "message/rfc822":
        inner = part.get_payload(0) if part.is_multipart() else None
        if isinstance(inner, Message):
            name = _name(part, f"attached-message-{len(found) + 1}.eml")
            found.append(MailFile(name, ctype, inner.as_bytes(), inline=False))
            return
    if part.is_multipart():
        for child in part.get_payload():
            if isinstance(child, Message):
                _walk(child, found)
        return
    disposition = part.get_content_disposition()
    named = part.get_filename()
    if disposition != "attachment" and not named and part.get_content_maintype() == "text":
        return  # the body (plain or HTML), or a bare text part of it
    if ctype == "message/delivery-status":
        return
    data = part.get_payload(decode=True)
    inline = disposition != "attachment" and (
        disposition == "inline" or part.get("Content-ID") is not None
    )
    extension = mimetypes.guess_extension(ctype) or ".bin"
    name = _name(part, f"inline-{len(found) + 1}{extension}")
    found.append(MailFile(name, ctype, data if isinstance(data, bytes) else b"", inline=inline))


def _name(part: Message, made_up: str) -> str:
    """The part's file name, without a path or characters file systems refuse; ``made_up``
    for a nameless part (an inline image, ``inline-N.png``)."""
    named = part.get_filename() or ""
    name = _UNSAFE.sub("", named.replace("\\", "/").rsplit("/", 1)[-1]).strip(" .")
    if not name:
        return made_up
    if len(name) > MAX_NAME_CHARS:
        stem, dot, ext = name.rpartition(".")
        keep = ext[:20] if dot else ""
        name = (stem if dot else name)[: MAX_NAME_CHARS - len(keep) - 1] + (
            f".{keep}" if keep else ""
        )
    return name
