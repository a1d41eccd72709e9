"""A mail source's purpose: backup reports (no row) or the service desk (a `ServiceDeskMailbox`
row with its target connection, default routing, filters and routing rules).

`configure` makes a source a service-desk mailbox or changes one, refusing a configuration the
rules would not accept (core/service_desk/routing.routing_errors), every problem at its field.
`settings_of` reads a mailbox as the rules' own types.

Boards are what the target connection calls the place a ticket goes: for Jira the project's
id as the connection lists it (its "company"), for Autotask a queue id; an Autotask target also
names the company every new ticket is opened for (`company_id`), until companies are found by
the sender's domain.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ticketbridge.core.service_desk.filters import FilterConfig
from ticketbridge.core.service_desk.routing import (
    FieldError,
    RoutingConfig,
    RoutingRule,
    routing_errors,
)
from ticketbridge.services.service_desk import targets
from ticketbridge.storage.models import (
    MailSource,
    PsaConnection,
    ServiceDeskMailbox,
    ServiceDeskRoutingRule,
)


class MailboxRefused(ValueError):
    """A configuration the desk cannot use; ``errors`` name every field at fault."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = tuple(errors)


@dataclass(frozen=True)
class DeskSettings:
    """One mailbox as the rules read it."""

    mailbox_id: int
    source_id: int
    connection_id: int | None
    routing: RoutingConfig
    filters: FilterConfig
    company_id: int | None = None  # Autotask: the company new tickets are opened for
    # Autotask: the sender's company first (their contact's, else their domain's), the
    # company above only when neither is found.
    company_by_sender: bool = False


@dataclass(frozen=True)
class MailboxSetup:
    """What an admin chooses for a service-desk mailbox."""

    connection_id: int
    default_board: str
    default_category: str
    boards: tuple[str, ...] = ()  # empty: the default board alone
    categories: tuple[str, ...] = ()  # empty: the default category alone
    labels: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()  # the mailbox's own addresses and aliases
    allowed_domains: tuple[str, ...] = ()
    blocked_senders: tuple[str, ...] = ()
    loop_limit: int = 5
    loop_minutes: int = 60
    company_id: int | None = None
    company_by_sender: bool = False
    rules: tuple[RoutingRule, ...] = field(default=())

    def routing(self) -> RoutingConfig:
        return RoutingConfig(
            boards=self.boards or (self.default_board,),
            default_board=self.default_board,
            categories=self.categories or (self.default_category,),
            default_category=self.default_category,
            labels=self.labels,
            rules=self.rules,
        )


def configure(
    session: Session, source_id: int, setup: MailboxSetup, *, now: datetime
) -> ServiceDeskMailbox:
    """Make the source a service-desk mailbox, or change its settings and rules."""
    errors = list(routing_errors(setup.routing()))
    if session.get(MailSource, source_id) is None:
        errors.append(FieldError("source_id", "There is no such mail source."))
    connection = session.get(PsaConnection, setup.connection_id)
    desk_target = targets.of_connection(connection)
    if connection is None:
        errors.append(FieldError("connection_id", "There is no such PSA connection."))
    elif desk_target is None:
        errors.append(FieldError("connection_id", "This connection cannot take desk mail."))
    elif desk_target.board_is_company:
        errors += _numeric("boards", setup.routing().boards, f"a {desk_target.board_name}")
    elif setup.company_id is None:
        errors.append(FieldError("company_id", "Tickets there need the company to use."))
    if setup.loop_limit < 0 or setup.loop_minutes < 1:
        errors.append(FieldError("loop_limit", "A limit of 0 or more within 1 minute or more."))
    if errors:
        raise MailboxRefused(errors)
    row = session.scalars(
        select(ServiceDeskMailbox).where(ServiceDeskMailbox.source_id == source_id)
    ).first()
    if row is None:
        row = ServiceDeskMailbox(source_id=source_id, created_at=now)
        session.add(row)
    row.connection_id = setup.connection_id
    row.default_board = setup.default_board
    row.default_category = setup.default_category
    row.config = _config_of(setup)
    row.updated_at = now
    session.flush()
    session.execute(
        delete(ServiceDeskRoutingRule).where(ServiceDeskRoutingRule.mailbox_id == row.id)
    )
    session.add_all(
        ServiceDeskRoutingRule(
            mailbox_id=row.id,
            position=position,
            name=rule.name.strip(),
            recipients=list(rule.recipients),
            sender_domains=list(rule.sender_domains),
            subject_pattern=rule.subject_pattern,
            board=rule.board,
            category=rule.category,
            labels=list(rule.labels),
        )
        for position, rule in enumerate(setup.rules)
    )
    session.flush()
    forget_desk_sources(session)
    return row


def _numeric(name: str, values: Sequence[str], what: str) -> list[FieldError]:
    wrong = [value for value in values if not value.strip().isdigit()]
    return [FieldError(name, f"{value!r} is not {what}.") for value in wrong]


def _config_of(setup: MailboxSetup) -> dict[str, Any]:
    routing = setup.routing()
    return {
        "boards": list(routing.boards),
        "categories": list(routing.categories),
        "labels": list(setup.labels),
        "addresses": [a.strip().lower() for a in setup.addresses if a.strip()],
        "allowed_domains": list(setup.allowed_domains),
        "blocked_senders": list(setup.blocked_senders),
        "loop_limit": setup.loop_limit,
        "loop_minutes": setup.loop_minutes,
        "company_id": setup.company_id,
        "company_by_sender": setup.company_by_sender,
    }


def mailbox_of_source(session: Session, source_id: int | None) -> ServiceDeskMailbox | None:
    if source_id is None:
        return None
    return session.scalars(
        select(ServiceDeskMailbox).where(ServiceDeskMailbox.source_id == source_id)
    ).first()


def settings_of(session: Session, mailbox: ServiceDeskMailbox) -> DeskSettings:
    config = mailbox.config or {}
    rules = session.scalars(
        select(ServiceDeskRoutingRule)
        .where(ServiceDeskRoutingRule.mailbox_id == mailbox.id)
        .order_by(ServiceDeskRoutingRule.position)
    )
    routing = RoutingConfig(
        boards=tuple(config.get("boards") or (mailbox.default_board,)),
        default_board=mailbox.default_board,
        categories=tuple(config.get("categories") or (mailbox.default_category,)),
        default_category=mailbox.default_category,
        labels=tuple(config.get("labels") or ()),
        rules=tuple(
            RoutingRule(
                name=rule.name,
                board=rule.board,
                recipients=tuple(rule.recipients or ()),
                sender_domains=tuple(rule.sender_domains or ()),
                subject_pattern=rule.subject_pattern,
                category=rule.category,
                labels=tuple(rule.labels or ()),
            )
            for rule in rules
        ),
    )
    filters = FilterConfig(
        mailbox_addresses=tuple(config.get("addresses") or ()),
        allowed_domains=tuple(config.get("allowed_domains") or ()),
        blocked_senders=tuple(config.get("blocked_senders") or ()),
        loop_limit=int(config.get("loop_limit", 5)),
        loop_minutes=int(config.get("loop_minutes", 60)),
    )
    company = config.get("company_id")
    return DeskSettings(
        mailbox_id=mailbox.id,
        source_id=mailbox.source_id,
        connection_id=mailbox.connection_id,
        routing=routing,
        filters=filters,
        company_id=int(company) if company is not None else None,
        company_by_sender=bool(config.get("company_by_sender", False)),
    )


# --- which sources are service desks, read once a transaction ------------------------------

_CACHE_KEY = "service_desk_sources"


def desk_source_ids(session: Session) -> frozenset[int]:
    """The sources whose purpose is the service desk. Mail intake asks this for every mail it
    routes, so the answer is read once per transaction (a batch is one transaction)."""
    transaction = session.get_transaction()
    cached = session.info.get(_CACHE_KEY)
    if cached is not None and transaction is not None and cached[0] is transaction:
        return frozenset(cached[1])
    ids = frozenset(session.scalars(select(ServiceDeskMailbox.source_id)))
    session.info[_CACHE_KEY] = (transaction, ids)
    return ids


def forget_desk_sources(session: Session) -> None:
    session.info.pop(_CACHE_KEY, None)
