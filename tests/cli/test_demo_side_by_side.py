"""Two demos on one machine: each has its own emulator, mapped customers and resolving on.

The demo's start-up (`start_demo`, everything `ticketbridge demo` does before it serves) runs
twice in this process with two var dirs; each emulator listens on a port of its own.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.conftest import settings_kwargs
from ticketbridge.cli import demo_psa, server
from ticketbridge.cli.main import app
from ticketbridge.core.statuses import RunStatus
from ticketbridge.emulators.jira import DEMO_API_TOKEN, DEMO_EMAIL
from ticketbridge.services.connections import mapping, named
from ticketbridge.services.connections import settings as integration_settings
from ticketbridge.services.tickets import create as ticket_create
from ticketbridge.settings import Settings
from ticketbridge.storage.models import Customer, Job, Run

TICKET_PAGE = "Autotask/AutotaskExtend/ExecuteCommand.aspx"


def _settings(var_dir: Path) -> Settings:
    return Settings(**settings_kwargs(var_dir=var_dir, demo_mode=True, port=0))


@pytest.fixture
def two_demos(tmp_path: Path) -> Iterator[tuple[server.Demo, server.Demo]]:
    first = server.start_demo(_settings(tmp_path / "first"), emulator_port=0)
    try:
        second = server.start_demo(_settings(tmp_path / "second"), emulator_port=0)
    except BaseException:
        first.stop()
        raise
    yield first, second
    first.stop()
    second.stop()


def _requests_seen(demo: server.Demo) -> int:
    response = httpx.get(f"{demo.emulator_url}/_emulator/requests", timeout=10)
    return int(response.json()["total"])


def failed_acme_run(session: Session) -> int:
    """The first failed run of the demo's Acme Logistics (a customer mapped in the emulator)."""
    problems = (RunStatus.FAILED.value, RunStatus.ERROR.value)
    return (
        session.scalars(
            select(Run.id)
            .join(Run.job)
            .join(Job.customer)
            .where(Customer.name == "Acme Logistics", Run.status.in_(problems))
            .order_by(Run.id)
        ).first()
        or 0
    )


def _failed_acme_run(demo: server.Demo) -> int:
    with demo.runtime.session_factory() as session:
        return failed_acme_run(session)


def test_each_demo_talks_to_its_own_emulator(
    two_demos: tuple[server.Demo, server.Demo],
) -> None:
    first, second = two_demos
    assert first.emulator_url and second.emulator_url
    assert first.emulator_url != second.emulator_url
    for demo in two_demos:
        with demo.runtime.session_factory() as session:
            assert integration_settings.load(session).connector["api_host"] == demo.emulator_url

    run_id = _failed_acme_run(first)
    assert run_id
    before = _requests_seen(second)
    ticket_id = ticket_create.create(first.runtime, run_id, actor="test").link.ticket_id
    assert ticket_id is not None

    # The ticket is in the first demo's emulator, at the address Open ticket uses; the second
    # emulator saw no request and has no such ticket.
    params = {"Code": "OpenTicketDetail", "TicketID": str(ticket_id)}
    page = httpx.get(f"{first.emulator_url}/{TICKET_PAGE}", params=params, timeout=10)
    assert page.status_code == 200 and "Acme Logistics Inc." in page.text
    assert _requests_seen(second) == before
    other = httpx.get(f"{second.emulator_url}/{TICKET_PAGE}", params=params, timeout=10)
    assert other.status_code == 404


def test_demo_customers_are_mapped_and_resolving_is_on(
    two_demos: tuple[server.Demo, server.Demo],
) -> None:
    demo = two_demos[0]
    with demo.runtime.session_factory() as session:
        settings = integration_settings.load(session).settings
        names = {c.id: c.name for c in session.scalars(select(Customer))}
        mapped = {names[customer_id] for customer_id in mapping.mappings(session)}
    assert settings.allow_resolve and settings.default_queue_id is not None
    assert "Acme Logistics" in mapped and len(mapped) == 10
    # The two the emulator has no company for stay unmapped, so that path can be seen too.
    assert not {"Juniper Accounting", "Lakeside Veterinary"} & mapped


def test_the_demo_has_autotask_and_jira_and_one_customers_tickets_go_to_jira(
    two_demos: tuple[server.Demo, server.Demo],
) -> None:
    demo = two_demos[0]
    with demo.runtime.session_factory() as session:
        connections = {(c.name, c.kind, c.enabled) for c in named.all_connections(session)}
        juniper = session.scalars(select(Customer).where(Customer.name == demo_psa.JIRA_CUSTOMER))
        customer = juniper.one()
        goes_to = named.for_customer(session, customer.id)
        run_id = session.scalars(
            select(Run.id).join(Run.job).where(Job.customer_id == customer.id).order_by(Run.id)
        ).first()
    assert connections == {("Autotask", "autotask", True), ("Jira", "jira", True)}
    assert goes_to is not None and goes_to.name == "Jira"
    assert run_id is not None

    link = ticket_create.create(demo.runtime, run_id, actor="test").link
    assert link.ticket_number and link.ticket_number.startswith("OPS-")
    assert link.ticket_url == f"{demo.jira_url}/browse/{link.ticket_number}"
    issue = httpx.get(
        f"{demo.jira_url}/rest/api/3/issue/{link.ticket_number}",
        auth=(DEMO_EMAIL, DEMO_API_TOKEN),
        timeout=10,
    )
    assert issue.json()["fields"]["project"]["key"] == "OPS"


def test_a_restarted_demo_keeps_its_mappings_and_its_emulator_port_while_free(
    tmp_path: Path,
) -> None:
    settings = _settings(tmp_path / "again")
    first = server.start_demo(settings, emulator_port=0)
    first_url = first.emulator_url
    first.stop()
    again = server.start_demo(settings, emulator_port=0)
    try:
        # Tickets created earlier keep working addresses: the emulator comes back where it was.
        assert again.emulator_url == first_url
        with again.runtime.session_factory() as session:
            assert integration_settings.load(session).connector["api_host"] == again.emulator_url
            assert len(mapping.mappings(session)) == 10
    finally:
        again.stop()


def test_a_restarted_demo_whose_port_was_taken_takes_another(tmp_path: Path) -> None:
    settings = _settings(tmp_path / "moved")
    first = server.start_demo(settings, emulator_port=0)
    assert first.emulator_url is not None
    taken_port = int(first.emulator_url.rsplit(":", 1)[1])
    first.stop()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", taken_port))
        taken.listen(1)
        again = server.start_demo(settings, emulator_port=0)
        try:
            assert again.emulator_url is not None and again.emulator_url != first.emulator_url
            with again.runtime.session_factory() as session:
                assert (
                    integration_settings.load(session).connector["api_host"] == again.emulator_url
                )
        finally:
            again.stop()


def test_a_second_demo_on_the_same_var_dir_is_refused(tmp_path: Path) -> None:
    settings = _settings(tmp_path / "shared")
    first = server.start_demo(settings, emulator_port=None)
    try:
        with pytest.raises(Exception) as refused:
            server.start_demo(settings, emulator_port=None)
        assert type(refused.value).__name__ == "Exit"
    finally:
        first.stop()


def test_demo_command_names_a_taken_port(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        monkeypatch.setenv("TICKETBRIDGE_VAR_DIR", str(tmp_path / "var"))
        result = CliRunner().invoke(app, ["demo", "--port", str(port), "--no-emulator"])
    assert result.exit_code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.output
