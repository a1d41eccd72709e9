"""Linking a draft's watchers to a ticket, shared by the connectors: each address the PSA
knows is linked by one call of the connector's own; an unknown address, or one the PSA
refuses, is reported with the reason and never raised (the ticket exists by then)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from ticketbridge.connectors.errors import ConnectorError
from ticketbridge.connectors.psa.base import TicketPeople

P = TypeVar("P")


def link_each(
    addresses: Iterable[str],
    known: Callable[[str], P | None],
    link: Callable[[P], object],
    *,
    unknown: str,
) -> tuple[list[str], list[tuple[str, str]]]:
    """The addresses linked, and those not with why (``unknown`` for one the PSA lacks)."""
    linked: list[str] = []
    unlinked: list[tuple[str, str]] = []
    for address in dict.fromkeys(addresses):
        person = known(address)
        if person is None:
            unlinked.append((address, unknown))
            continue
        try:
            link(person)
        except ConnectorError as exc:
            unlinked.append((address, exc.message))
            continue
        linked.append(address)
    return linked, unlinked


def outcome(
    reporter: str | None,
    reporter_linked: bool,
    why_not: str,
    linked: list[str],
    unlinked: list[tuple[str, str]],
) -> TicketPeople:
    missing = [(reporter, why_not)] if reporter and not reporter_linked else []
    return TicketPeople(
        reporter=reporter if reporter_linked else None,
        watchers=tuple(linked),
        unlinked=(*missing, *unlinked),
    )
