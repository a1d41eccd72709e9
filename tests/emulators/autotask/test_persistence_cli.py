"""State file persistence and the `ticketbridge emulate autotask` command."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient
from typer.testing import CliRunner

from ticketbridge.cli.emulate import app as emulate_app
from ticketbridge.cli.emulate import build_autotask_app
from ticketbridge.emulators.autotask import create_app

from .conftest import BASE, Api


def test_state_file_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "autotask.json"
    with TestClient(create_app(state_file=state), base_url=BASE) as client:
        ticket_id = Api(client).create_ticket(title="Persisted")
        client.patch("/_emulator/companies/101", json={"companyName": "Acme Persisted"})
    with TestClient(create_app(state_file=state), base_url=BASE) as client:
        api = Api(client)
        assert api.ticket(ticket_id)["title"] == "Persisted"
        assert api.get("/Companies/101").json()["item"]["companyName"] == "Acme Persisted"
        assert api.create_ticket() == ticket_id + 1


def test_cli_app_uses_the_given_credentials() -> None:
    app = build_autotask_app(
        seed="empty",
        api_user="me@msp.example",
        api_secret="s3",
        integration_code="CODE",
        auto_deliver=False,
    )
    with TestClient(app, base_url=BASE) as client:
        api = Api(
            client, {"UserName": "me@msp.example", "Secret": "s3", "ApiIntegrationCode": "CODE"}
        )
        assert api.ids("Companies", {"op": "gte", "field": "id", "value": 0}) == [0]


def test_cli_rejects_an_unknown_seed() -> None:
    result = CliRunner().invoke(emulate_app, ["autotask", "--seed", "huge"])
    assert result.exit_code != 0


def test_cli_help_lists_the_options() -> None:
    result = CliRunner().invoke(emulate_app, ["autotask", "--help"])
    assert result.exit_code == 0
    for option in (
        "--host",
        "--port",
        "--seed",
        "--state",
        "--speed",
        "--api-user",
        "--api-secret",
        "--integration-code",
    ):
        assert option in result.output
