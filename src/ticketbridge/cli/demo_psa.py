"""The demo's two PSA connections: Autotask (the ticketing default) and Jira, each pointed at
the demo's own emulator, with the demo customers mapped and resolving on."""

from __future__ import annotations

from ticketbridge.cli.common import console
from ticketbridge.connectors.errors import ConnectorError
from ticketbridge.services.connections import named as connection_names
from ticketbridge.services.connections import setup as connection_setup
from ticketbridge.services.connections.active import IntegrationUnavailable
from ticketbridge.services.runs import catalog
from ticketbridge.services.runtime import Runtime
from ticketbridge.storage.db import session_scope


def connect_autotask(runtime: Runtime, emulator_url: str, ui_url: str) -> None:
    """Point the demo's Autotask connection at its emulator, load its lists, and map the
    demo customers that have a company there, so that create and resolve work at once."""
    from ticketbridge.emulators import autotask as emulator

    try:
        done = connection_setup.connect(
            runtime,
            name="Autotask",
            kind="autotask",
            connector={
                "environment": "custom",
                "api_host": emulator_url,
                "username": emulator.DEMO_API_USER,
                "secret": emulator.DEMO_API_SECRET,
                "integration_code": emulator.DEMO_INTEGRATION_CODE,
            },
            base_url=ui_url,
            actor="demo",
            options={"allow_resolve": True},
        )
        mapped = connection_setup.map_by_name(
            runtime, emulator.DEMO_COMPANY_NAMES, actor="demo", connection_id=done.connection_id
        )
    except (ConnectorError, IntegrationUnavailable) as exc:
        console.print(f"[yellow]Autotask not connected: {exc.message}[/yellow]")
        return
    loaded = ", ".join(f"{count} {name}" for name, count in sorted(done.refreshed.counts.items()))
    console.print(f"Autotask connected to the emulator ({loaded}); resolving is on")
    unmapped = [name for name, company in emulator.DEMO_COMPANY_NAMES.items() if not company]
    console.print(
        f"{len(mapped.mapped) + len(mapped.already)} demo customers mapped to Autotask companies"
        + (f"; left unmapped on purpose: {', '.join(unmapped)}" if unmapped else "")
    )


# The demo customer whose run tickets go to Jira, and the Jira project they go to.
JIRA_CUSTOMER = "Juniper Accounting"
JIRA_PROJECT = "Operations"


def connect_jira(runtime: Runtime, emulator_url: str, ui_url: str) -> None:
    """A second connection, to the demo's Jira emulator: one demo customer's run tickets go
    there (its own choice), so Run Checks shows tickets in both PSAs."""
    from ticketbridge.emulators import jira as emulator

    try:
        done = connection_setup.connect(
            runtime,
            name="Jira",
            kind="jira",
            connector={
                "base_url": emulator_url,
                "deployment": "cloud",
                "email": emulator.DEMO_EMAIL,
                "api_token": emulator.DEMO_API_TOKEN,
                # Operations is no service desk: internal notes are comments for this role.
                "internal_visibility_type": "role",
                "internal_visibility_value": "Administrators",
            },
            base_url=ui_url,
            actor="demo",
            options={"allow_resolve": True},
            defaults_by_name={"default_queue_id": "Task", "default_status_id": "To Do"},
        )
        connection_setup.map_by_name(
            runtime, {JIRA_CUSTOMER: JIRA_PROJECT}, actor="demo", connection_id=done.connection_id
        )
        with session_scope(runtime.session_factory) as session:
            customer = next(
                (c for c in catalog.list_customers(session) if c.name == JIRA_CUSTOMER), None
            )
            if customer is not None and customer.ticketing_connection_id is None:
                connection_names.choose_for_customer(
                    session, customer.id, done.connection_id, actor="demo"
                )
    except (ConnectorError, IntegrationUnavailable) as exc:
        console.print(f"[yellow]Jira not connected: {exc.message}[/yellow]")
        return
    console.print(f"Jira connected to its emulator; {JIRA_CUSTOMER}'s run tickets go to Jira")
