"""One routing rule at a time, as the Service desk page edits them: add (last), change, delete.

A change is checked against the mailbox's whole rule set (core/service_desk/routing's
`routing_errors`), so the rules that hold for a set hold here too: a board and category from
the configured lists, and a rule without conditions only as the last. Only the problems this
change brings are reported, each at the field of the rule being edited.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from ticketbridge.core.service_desk.routing import FieldError, RoutingRule, routing_errors
from ticketbridge.services.service_desk.mailboxes import settings_of
from ticketbridge.services.system import audit
from ticketbridge.storage.models import ServiceDeskMailbox, ServiceDeskRoutingRule

RULE = "rule"  # problems of the rule as a whole (its place among the others)


class RuleNotFound(LookupError):
    pass


class RuleRefused(ValueError):
    """``errors``: field name (name, board, category, recipients, ...) or "rule" -> message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def rules_of(session: Session, mailbox_id: int) -> list[ServiceDeskRoutingRule]:
    return list(
        session.scalars(
            select(ServiceDeskRoutingRule)
            .where(ServiceDeskRoutingRule.mailbox_id == mailbox_id)
            .order_by(ServiceDeskRoutingRule.position)
        )
    )


def get_rule(session: Session, rule_id: int) -> ServiceDeskRoutingRule:
    found = session.get(ServiceDeskRoutingRule, rule_id)
    if found is None:
        raise RuleNotFound(f"There is no routing rule {rule_id}.")
    return found


def add_rule(
    session: Session, mailbox_id: int, rule: RoutingRule, *, actor: str
) -> ServiceDeskRoutingRule:
    mailbox = session.get(ServiceDeskMailbox, mailbox_id)
    if mailbox is None:
        raise RuleRefused({"mailbox_id": "Choose a service-desk mailbox."})
    existing = rules_of(session, mailbox_id)
    _check(session, mailbox, len(existing), rule, replacing=False)
    position = max((r.position for r in existing), default=-1) + 1
    row = ServiceDeskRoutingRule(mailbox_id=mailbox_id, position=position)
    _fill(row, rule)
    session.add(row)
    session.flush()
    audit.record(
        session, actor=actor, action="service_desk.rule_create",
        subject=f"routing rule {row.id}", details=_details(row),
    )  # fmt: skip
    return row


def update_rule(
    session: Session, rule_id: int, rule: RoutingRule, *, actor: str
) -> ServiceDeskRoutingRule:
    row = get_rule(session, rule_id)
    mailbox = session.get(ServiceDeskMailbox, row.mailbox_id)
    assert mailbox is not None  # the rule cascades with its mailbox
    index = [r.id for r in rules_of(session, row.mailbox_id)].index(row.id)
    _check(session, mailbox, index, rule, replacing=True)
    _fill(row, rule)
    session.flush()
    audit.record(
        session, actor=actor, action="service_desk.rule_update",
        subject=f"routing rule {row.id}", details=_details(row),
    )  # fmt: skip
    return row


def delete_rule(session: Session, rule_id: int, *, actor: str) -> str:
    row = get_rule(session, rule_id)
    name = row.name
    details = _details(row)
    session.delete(row)
    session.flush()
    audit.record(
        session, actor=actor, action="service_desk.rule_delete",
        subject=f"routing rule {rule_id}", details=details,
    )  # fmt: skip
    return name


def _check(
    session: Session, mailbox: ServiceDeskMailbox, index: int, rule: RoutingRule, *, replacing: bool
) -> None:
    routing = settings_of(session, mailbox).routing
    rules = list(routing.rules)
    before = set(routing_errors(routing))
    if replacing:
        rules[index] = rule
    else:
        rules.insert(index, rule)
    brought = [e for e in routing_errors(replace(routing, rules=tuple(rules))) if e not in before]
    if replacing:
        # An edited rule's own problems count even when it had them before.
        brought += [e for e in before if e.field.startswith(f"rules[{index}].")]
    if brought:
        raise RuleRefused(_by_field(brought, index))


def _by_field(errors: list[FieldError], index: int) -> dict[str, str]:
    found: dict[str, str] = {}
    own = f"rules[{index}]"
    for error in errors:
        if error.field.startswith(own + "."):
            found.setdefault(error.field[len(own) + 1 :], error.message)
        elif error.field.startswith("rules[") and error.field != own:
            # Another rule's problem this change brought: a catch-all no longer last.
            message = "Another rule has no condition and must stay the last: give it one first."
            found.setdefault(RULE, message)
        else:
            found.setdefault(RULE, error.message)
    return found


def _fill(row: ServiceDeskRoutingRule, rule: RoutingRule) -> None:
    row.name = rule.name.strip()
    row.recipients = [a.strip().lower() for a in rule.recipients]
    row.sender_domains = [d.strip().lower() for d in rule.sender_domains]
    row.subject_pattern = rule.subject_pattern
    row.board = rule.board
    row.category = rule.category
    row.labels = list(rule.labels)


def _details(row: ServiceDeskRoutingRule) -> dict[str, object]:
    return {
        "mailbox_id": row.mailbox_id,
        "name": row.name,
        "board": row.board,
        "category": row.category,
        "recipients": list(row.recipients),
        "sender_domains": list(row.sender_domains),
        "subject_pattern": row.subject_pattern,
        "labels": list(row.labels),
    }
