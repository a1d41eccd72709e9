"""The registry resolves connector kinds lazily, and what it returns keeps the protocol."""

from __future__ import annotations

import pytest

from ticketbridge.connectors import registry
from ticketbridge.connectors.errors import ConnectorConfigError
from ticketbridge.connectors.psa.autotask.connector import AutotaskConfig, AutotaskConnector
from ticketbridge.connectors.psa.base import PsaConnector
from ticketbridge.connectors.psa.capabilities import TicketFieldLengths


def test_autotask_kind_loads_the_connector_class() -> None:
    assert registry.load("autotask") is AutotaskConnector


def test_unknown_kind_is_a_config_error() -> None:
    with pytest.raises(ConnectorConfigError):
        registry.load("halo")


def test_a_registry_of_test_doubles_can_be_passed_in() -> None:
    assert registry.load("fake", {"fake": "tests.fakes.psa:FakePsa"}).kind == "fake"


def test_autotask_connector_implements_the_protocol() -> None:
    config = AutotaskConfig(username="u@example.com", secret="x" * 8, integration_code="CODE")
    with AutotaskConnector(config) as connector:
        assert isinstance(connector, PsaConnector)


def test_a_kind_s_capabilities_load_by_name_and_a_missing_one_is_a_config_error() -> None:
    from ticketbridge.connectors.psa.autotask import roundtrip
    from ticketbridge.connectors.psa.autotask.client import AutotaskCache

    assert registry.config_model("autotask") is AutotaskConfig
    assert registry.roundtrip("autotask") is roundtrip
    assert isinstance(registry.new_cache("autotask"), AutotaskCache)
    with pytest.raises(ConnectorConfigError, match="offers no roundtrip"):
        registry.roundtrip("jira")


def test_a_kind_without_ticket_fields_or_page_gets_unknown_lengths_and_no_link(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(registry.PSA_CAPABILITIES, "bare", {})
    assert registry.ticket_fields("bare")(object()) == TicketFieldLengths()
    assert registry.ticket_url("bare")(object(), 7) is None


def test_jira_declares_its_summary_length_and_its_browse_page() -> None:
    class Known:
        keys = {7: "OPS-7"}
        config = type("Config", (), {"base_url": "https://example.atlassian.net"})

    assert registry.ticket_fields("jira")(Known()).title == 255
    assert registry.ticket_url("jira")(Known(), 7) == "https://example.atlassian.net/browse/OPS-7"


def test_autotask_governor_keys_are_by_lookup_host_user_and_code() -> None:
    config = AutotaskConfig(
        environment="custom",
        api_host="https://WebServices5.Autotask.net/ATServicesRest/V1.0",
        username="U@Example.com",
        secret="x" * 8,
        integration_code="CODE",
    )
    key = registry.governor_key("autotask")(config)
    assert key == ("https://webservices5.autotask.net", "u@example.com", "CODE")
