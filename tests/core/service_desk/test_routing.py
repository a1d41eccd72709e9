from __future__ import annotations

from dataclasses import replace

from tests.core.service_desk.mails import built, fixture
from ticketbridge.core.service_desk.routing import (
    FieldError,
    RoutingConfig,
    RoutingRule,
    route,
    routing_errors,
)

BILLING = RoutingRule("billing", "FIN", recipients=("billing@msp.example",), category="billing")
ACME = RoutingRule("acme", "ACME", sender_domains=("acme.example",), labels=("vip",))
BACKUPS = RoutingRule("backups", "OPS", subject_pattern="*backup*fail*", labels=("backup",))
CONFIG = RoutingConfig(
    boards=("SUP", "FIN", "ACME", "OPS"),
    default_board="SUP",
    categories=("general", "billing", "bug"),
    default_category="general",
    labels=("ticket",),
    rules=(BILLING, ACME, BACKUPS),
)


def test_without_a_matching_rule_the_defaults_apply() -> None:
    result = route(fixture("new_request"), CONFIG)
    assert (result.board, result.category, result.rule) == ("SUP", "general", None)
    assert result.labels == ("ticket", "general")


def test_a_recipient_alias_routes_even_when_it_is_only_in_the_delivery_headers() -> None:
    mail = built("To: someone@customer.example", "Delivered-To: Billing@msp.example")
    result = route(mail, CONFIG)
    assert (result.board, result.category, result.rule) == ("FIN", "billing", "billing")
    assert result.reason == "Rule 'billing' matched."


def test_a_sender_domain_covers_its_subdomains_only() -> None:
    assert route(built("From: a@it.acme.example"), CONFIG).board == "ACME"
    assert route(built("From: a@notacme.example"), CONFIG).board == "SUP"
    assert route(built("From: a@acme.example"), CONFIG).labels == ("ticket", "vip", "general")


def test_subject_patterns_are_case_insensitive_globs() -> None:
    assert route(built("Subject: Nightly BACKUP has failed"), CONFIG).board == "OPS"
    assert route(built("Subject: backup ok"), CONFIG).board == "SUP"


def test_the_first_matching_rule_wins_and_all_its_conditions_must_hold() -> None:
    mail = built("From: a@acme.example", "To: billing@msp.example", "Subject: backup failed")
    assert route(mail, CONFIG).rule == "billing"
    both = RoutingRule(
        "both", "OPS", recipients=("billing@msp.example",), sender_domains=("acme.example",)
    )
    config = replace(CONFIG, rules=(both,))
    assert route(built("To: billing@msp.example"), config).rule is None
    assert route(built("To: billing@msp.example", "From: x@acme.example"), config).rule == "both"


def test_a_valid_configuration_has_no_errors() -> None:
    assert routing_errors(CONFIG) == []


def test_rule_fields_are_checked_by_name() -> None:
    bad = RoutingRule(
        "billing",
        "NOPE",
        recipients=("not an address",),
        sender_domains=("acme..example",),
        subject_pattern="*" * 201,
        category="sales",
        labels=("two words",),
    )
    errors = {e.field for e in routing_errors(replace(CONFIG, rules=(BILLING, bad)))}
    assert errors == {
        "rules[1].name",
        "rules[1].board",
        "rules[1].recipients",
        "rules[1].sender_domains",
        "rules[1].subject_pattern",
        "rules[1].category",
        "rules[1].labels",
    }


def test_a_rule_without_conditions_may_only_be_last() -> None:
    catch_all = RoutingRule("rest", "SUP")
    assert routing_errors(replace(CONFIG, rules=(BILLING, catch_all))) == []
    errors = routing_errors(replace(CONFIG, rules=(catch_all, BILLING)))
    assert errors == [
        FieldError(
            "rules[0]", "This rule has no condition and matches every mail: it must be the last."
        )
    ]


def test_defaults_must_come_from_the_configured_lists() -> None:
    config = replace(
        CONFIG,
        default_board="X",
        default_category="Y",
        categories=("general", "billing", "billing"),
    )
    fields = [e.field for e in routing_errors(config)]
    assert fields == ["categories", "default_board", "default_category"]
    assert routing_errors(replace(CONFIG, boards=()))[0].field == "boards"
