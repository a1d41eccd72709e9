"""The mail resources a subscription may watch, in the spellings Graph accepts:
``users/{id}/messages``, ``users/{id}/mailFolders('Inbox')/messages``,
``users/{id}/mailFolders/{id}/messages`` and the same under ``me/`` (delegated)."""

from __future__ import annotations

import re

_RESOURCE = re.compile(
    r"^/?(?:users/(?P<user>[^/]+)|(?P<me>me))"
    r"(?:/mailFolders(?:\('(?P<quoted>[^']+)'\)|/(?P<plain>[^/]+)))?/messages$",
    re.IGNORECASE,
)


def parse_resource(resource: str, me: str | None) -> tuple[str, str | None] | None:
    """(mailbox reference, folder reference or None for every folder), or None when the
    resource is not a mail resource (or ``me`` without a signed-in user)."""
    match = _RESOURCE.match(resource.strip())
    if match is None:
        return None
    mailbox = match.group("user") or (me if match.group("me") else None)
    if mailbox is None:
        return None
    return mailbox, match.group("quoted") or match.group("plain")
