"""Routing rules: which board, category and labels a new ticket gets (issue 16, item 4).
Pure; no I/O.

A rule names any of: recipient addresses (the mailbox's address or an alias it receives),
sender domains (a domain covers its subdomains) and a subject pattern. Every condition a rule
names must hold; the first rule that matches, in rule order, decides; with none, the defaults
do. A rule without conditions matches every mail, so it may only be the last.

Subject patterns are globs ("*invoice*", "backup ?ailed"), matched without regard to case, and
without a wildcard a plain substring test: the same as the backup-mail rules
(`core.mail_keys.subject_matches`), so an admin learns one syntax. A glob cannot be written to
take exponential time (since Python 3.11 fnmatch compiles each "*" into an atomic group, which
is never tried again once passed); patterns are still capped at `MAX_SUBJECT_PATTERN` characters.

Boards are opaque strings (a Jira project key, an Autotask queue id); categories are labels from
a configured list, with a default.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ticketbridge.core.mail_keys import sender_matches, subject_matches
from ticketbridge.core.service_desk.mail import DeskMail

MAX_SUBJECT_PATTERN = 200
MAX_RULES = 200
MAX_LABEL = 255
_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DOMAIN = re.compile(r"^@?(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9-]{1,63})+$")


@dataclass(frozen=True)
class FieldError:
    field: str  # "rules[2].board", "default_category"
    message: str


@dataclass(frozen=True)
class RoutingRule:
    name: str
    board: str
    recipients: tuple[str, ...] = ()
    sender_domains: tuple[str, ...] = ()
    subject_pattern: str = ""
    category: str = ""  # "": the configured default
    labels: tuple[str, ...] = ()

    @property
    def catch_all(self) -> bool:
        return not (self.recipients or self.sender_domains or self.subject_pattern.strip())


@dataclass(frozen=True)
class RoutingConfig:
    boards: tuple[str, ...]
    default_board: str
    categories: tuple[str, ...]
    default_category: str
    labels: tuple[str, ...] = ()  # on every ticket the desk opens
    rules: tuple[RoutingRule, ...] = ()


@dataclass(frozen=True)
class Route:
    board: str
    category: str
    labels: tuple[str, ...]  # the configured labels and the rule's, then the category
    rule: str | None  # the matching rule's name; None: the defaults
    reason: str


def matches(rule: RoutingRule, mail: DeskMail) -> bool:
    if rule.recipients:
        wanted = {address.strip().lower() for address in rule.recipients}
        if not wanted.intersection(mail.recipients):
            return False
    if rule.sender_domains and not any(
        sender_matches(domain.lstrip("@"), mail.sender) for domain in rule.sender_domains
    ):
        return False
    pattern = rule.subject_pattern
    if not pattern.strip():
        return True
    return len(pattern) <= MAX_SUBJECT_PATTERN and subject_matches(pattern, mail.subject)


def route(mail: DeskMail, config: RoutingConfig) -> Route:
    rule = next((rule for rule in config.rules if matches(rule, mail)), None)
    if rule is None:
        labels = _labels(config.labels, (), config.default_category)
        reason = "No rule matched; the default board and category."
        return Route(config.default_board, config.default_category, labels, None, reason)
    category = rule.category or config.default_category
    labels = _labels(config.labels, rule.labels, category)
    return Route(rule.board, category, labels, rule.name, f"Rule {rule.name!r} matched.")


def _labels(
    configured: tuple[str, ...], of_rule: tuple[str, ...], category: str
) -> tuple[str, ...]:
    found: list[str] = []
    for label in (*configured, *of_rule, category):
        if label and label not in found:
            found.append(label)
    return tuple(found)


def routing_errors(config: RoutingConfig) -> list[FieldError]:
    """Every problem with a routing configuration, by field; empty when it may be saved."""
    errors: list[FieldError] = []
    errors += _listing_errors("boards", config.boards)
    errors += _listing_errors("categories", config.categories)
    if config.default_board not in config.boards:
        errors.append(FieldError("default_board", "Choose one of the configured boards."))
    if config.default_category not in config.categories:
        errors.append(FieldError("default_category", "Choose one of the configured categories."))
    errors += [FieldError("labels", message) for message in _label_errors(config.labels)]
    if len(config.rules) > MAX_RULES:
        errors.append(FieldError("rules", f"At most {MAX_RULES} rules."))
    names: set[str] = set()
    for position, rule in enumerate(config.rules):
        errors += _rule_errors(f"rules[{position}]", rule, config, names)
        if rule.catch_all and position < len(config.rules) - 1:
            message = "This rule has no condition and matches every mail: it must be the last."
            errors.append(FieldError(f"rules[{position}]", message))
        names.add(rule.name.strip().lower())
    return errors


def _rule_errors(
    at: str, rule: RoutingRule, config: RoutingConfig, names: set[str]
) -> list[FieldError]:
    errors: list[FieldError] = []
    if not rule.name.strip():
        errors.append(FieldError(f"{at}.name", "A name is required."))
    elif rule.name.strip().lower() in names:
        errors.append(FieldError(f"{at}.name", "Another rule has this name."))
    if rule.board not in config.boards:
        errors.append(FieldError(f"{at}.board", "Choose one of the configured boards."))
    if rule.category and rule.category not in config.categories:
        errors.append(FieldError(f"{at}.category", "Choose one of the configured categories."))
    for address in rule.recipients:
        if not _ADDRESS.match(address.strip()):
            errors.append(FieldError(f"{at}.recipients", f"Not an address: {address!r}."))
    for domain in rule.sender_domains:
        if not _DOMAIN.match(domain.strip().lower()):
            errors.append(FieldError(f"{at}.sender_domains", f"Not a domain: {domain!r}."))
    if len(rule.subject_pattern) > MAX_SUBJECT_PATTERN:
        message = f"A subject pattern has at most {MAX_SUBJECT_PATTERN} characters."
        errors.append(FieldError(f"{at}.subject_pattern", message))
    errors += [FieldError(f"{at}.labels", message) for message in _label_errors(rule.labels)]
    return errors


def _listing_errors(name: str, values: tuple[str, ...]) -> list[FieldError]:
    if not values:
        return [FieldError(name, "Configure at least one.")]
    if any(not value.strip() for value in values):
        return [FieldError(name, "An entry is empty.")]
    if len(set(values)) != len(values):
        return [FieldError(name, "An entry is listed twice.")]
    if name == "categories":
        return [FieldError(name, message) for message in _label_errors(values)]
    return []


def _label_errors(labels: tuple[str, ...]) -> list[str]:
    """Labels are Jira's: no white space, at most 255 characters (categories are labels)."""
    errors = []
    for label in labels:
        if not label or any(char.isspace() for char in label):
            errors.append(f"A label may not be empty or hold spaces: {label!r}.")
        elif len(label) > MAX_LABEL:
            errors.append(f"A label has at most {MAX_LABEL} characters.")
    return errors
