"""The registry resolves connector kinds lazily, and what it returns keeps the protocol."""

from __future__ import annotations

import pytest

from ticketbridge.connectors import registry
from ticketbridge.connectors.errors import ConnectorConfigError
from ticketbridge.connectors.psa.autotask.connector import AutotaskConfig, AutotaskConnector
from ticketbridge.connectors.psa.base import PsaConnector


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
