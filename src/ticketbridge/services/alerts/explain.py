"""The correlation explainer: paste an alert mail or a token and see which customer, device
and open ticket it would join, and why not when it would not (docs/alerts.md).

It runs the rules correlation runs, step by step, and writes nothing: no alert, no source, no
cache row. Autotask is asked (devices, tickets by UDF) when the integration is enabled; the
pasted text's credentials are never shown, stored or logged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from ticketbridge.connectors.errors import ConnectorError
from ticketbridge.connectors.parsers.registry import parse_message
from ticketbridge.connectors.psa.base import PsaConnector
from ticketbridge.core.alert_dedup import (
    AlertKeys,
    CandidateTicket,
    Considered,
    DeviceCandidate,
    choose_device,
    choose_ticket,
    group_key,
)
from ticketbridge.core.ates_tokens import AtesToken, find_tokens
from ticketbridge.core.psa_governor import Priority
from ticketbridge.services.alerts import correlate, intake, store
from ticketbridge.services.alerts.store import CreateRule
from ticketbridge.services.connections import mapping
from ticketbridge.services.connections.active import IntegrationUnavailable
from ticketbridge.services.runs import catalog
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.tickets.psa import roundtrip_connection

MAX_TEXT = 1_000_000
_HEADER = re.compile(
    r"[A-Za-z][A-Za-z0-9-]{0,60}:[^\n]*\r?\n(?:[ \t][^\n]*\r?\n|[A-Za-z][A-Za-z0-9-]{0,60}:)"
)


@dataclass(frozen=True)
class Step:
    label: str
    ok: bool | None  # None: not reached, or nothing to check
    detail: str


@dataclass
class Explanation:
    token: dict[str, str | None] | None = None
    credentials_redacted: bool = False
    steps: list[Step] = field(default_factory=list)
    verdict: str = ""
    joins_alert_id: int | None = None
    joins_ticket: CandidateTicket | None = None
    considered: tuple[Considered, ...] = ()


def _token_of(text: str) -> tuple[AtesToken | None, bool]:
    """The token of a pasted mail (its decoded body: parts may be quoted-printable or base64)
    or of pasted text."""
    token = None
    if _HEADER.match(text):
        message = parse_message(text.encode("utf-8", "replace")).message
        if message is not None:
            token = intake.token_in_texts(message.text, message.html)
    token = token or intake.token_in_texts(text)
    credentials = any(t.has_credentials for t in find_tokens(text))
    return token, credentials or bool(token and token.has_credentials)


def explain(runtime: Runtime, text: str, *, priority: Priority = Priority.OPERATOR) -> Explanation:
    result = Explanation()
    token, credentials = _token_of(text[:MAX_TEXT])
    result.credentials_redacted = credentials
    if token is None:
        result.steps.append(
            Step(
                "Token",
                False,
                "No ATES token naming a customer, device, alert or ticket was found.",
            )
        )
        result.verdict = (
            "Not an alert: the mail would be read as a backup report, or wait in the Inbox."
        )
        return result
    result.token = token.facts()
    secret = (
        " Its ID and PW were found and are not shown; stored mail keeps them redacted."
        if credentials
        else ""
    )
    result.steps.append(
        Step(
            "Token",
            True,
            f"Found an ATES token from {token.source or store.UNKNOWN_SOURCE!r}.{secret}",
        )
    )
    with runtime.session_factory() as session:
        keys, udfs, rule = _local_steps(session, token, result)
        if keys is None:
            return result
        try:
            with correlate.autotask_for(runtime, session, priority) as autotask:
                connector = autotask.connector
                _device_step(connector, token, keys, udfs[0], result)
                candidates = correlate.open_tickets(connector, keys, udfs[1], udfs[2])
        except IntegrationUnavailable as exc:
            result.steps.append(Step("Autotask", None, f"Not asked: {exc.message}"))
            result.verdict = "Would stay new until Autotask can be asked."
            return result
        except ConnectorError as exc:
            result.steps.append(Step("Autotask", False, f"Could not be searched: {exc.message}"))
            result.verdict = "Would wait for an operator: Autotask could not be searched."
            return result
    decision = choose_ticket(keys, candidates)
    result.considered = decision.considered
    result.steps.append(Step("Open ticket", decision.ticket is not None, decision.reason))
    if decision.ticket is not None:
        result.joins_ticket = decision.ticket
        result.verdict = f"Would join ticket {decision.ticket.number or decision.ticket.id}."
    elif rule == CreateRule.AUTOMATIC.value:
        result.verdict = "Would create a ticket at once (the source's rule is automatic)."
    else:
        result.verdict = "Would wait for an operator to create a ticket, join one, or ignore it."
    return result


def _local_steps(
    session: Session, token: AtesToken, result: Explanation
) -> tuple[AlertKeys | None, tuple[str, str, str], str]:
    """Source, customer, company and an open alert of ours: what needs no request."""
    name = token.source or store.UNKNOWN_SOURCE
    source = store.find_source(session, name)
    if source is None:
        result.steps.append(
            Step(
                "Source", None, f"{name!r} is new: it would be added, tickets by operator decision."
            )
        )
        result.steps.append(
            Step(
                "Customer",
                False,
                f"CustomerID {token.customer_id!r} cannot be mapped before the source exists.",
            )
        )
        result.verdict = "Would wait for an operator: map the source's CustomerID first."
        return None, ("", "", ""), CreateRule.OPERATOR.value
    udfs = store.udf_names(source)
    result.steps.append(
        Step(
            "Source",
            True,
            f"{source.name!r}, tickets: {source.create_rule}; UDFs "
            + ", ".join(repr(u) for u in udfs)
            + ".",
        )
    )
    customer_id = store.mapped_customer(session, source.id, token.customer_id)
    if customer_id is None:
        result.steps.append(
            Step(
                "Customer",
                False,
                f"CustomerID {token.customer_id!r} is not mapped (Alerts > Sources).",
            )
        )
        result.verdict = "Would wait for an operator: the CustomerID is not mapped."
        return None, udfs, source.create_rule
    customer = catalog.get_customer(session, customer_id)
    result.steps.append(
        Step("Customer", True, f"CustomerID {token.customer_id!r} is customer {customer.name!r}.")
    )
    company = mapping.mapping_for_customer(session, customer_id, roundtrip_connection(session))
    if company.company_id is None:
        result.steps.append(
            Step("Company", False, f"Customer {customer.name!r} has no Autotask company.")
        )
        result.verdict = "Would wait for an operator: the customer has no Autotask company."
        return None, udfs, source.create_rule
    label = (
        f"{company.cached_name} ({company.company_id})"
        if company.cached_name
        else str(company.company_id)
    )
    result.steps.append(Step("Company", True, f"Autotask company {label}."))
    keys = AlertKeys(
        source.id, company.company_id, token.customer_id, token.alert_id, token.ticket_id
    )
    holder = store.open_alert(session, group_key(keys))
    if holder is not None:
        result.joins_alert_id = holder.id
        result.steps.append(
            Step(
                "Open alert",
                True,
                f"Alert {holder.id} ({holder.state}, {holder.count}×) has the same key: "
                "the mail would be counted on it.",
            )
        )
        result.verdict = f"Would be counted on alert {holder.id}" + (
            f" (ticket {holder.ticket_number})." if holder.ticket_number else "."
        )
        return None, udfs, source.create_rule
    if keys.dedup is None:
        result.steps.append(
            Step("Open alert", None, "No Alert ID or Ticket ID: every mail is an alert of its own.")
        )
    else:
        result.steps.append(Step("Open alert", False, "No open alert of ours has the same key."))
    return keys, udfs, source.create_rule


def _device_step(
    connector: PsaConnector, token: AtesToken, keys: AlertKeys, udf: str, result: Explanation
) -> None:
    if not token.device_id:
        result.steps.append(Step("Device", None, "The token names no device."))
        return
    found = connector.find_configuration_items(udf, token.device_id)
    items = [DeviceCandidate(d.id, d.company_id, d.name, d.active) for d in found]
    choice = choose_device(token.device_id, keys.company_id, items)
    result.steps.append(Step("Device", choice.device is not None, choice.reason))
