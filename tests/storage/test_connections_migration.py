"""Migration 0017 turns the one Autotask settings row, its reference values, its customers'
company mappings and the ticket links of runs into the first named connection, losing nothing,
on SQLite and PostgreSQL; and goes back down to the settings row."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine, text

from tests.storage.test_name_key_migration import _insert, fresh_url  # noqa: F401 (fixture)
from ticketbridge.storage.db import make_engine
from ticketbridge.storage.migrate import downgrade, upgrade

T = "2026-01-01 00:00:00"
SECRET_CIPHERTEXT = "gAAAA-the-stored-ciphertext-moves-as-it-is"


def _filled(engine: Engine, table: str, **given: Any) -> dict[str, Any]:
    """A row of ``table`` as it stands in this schema: ``given``, and a plain value for every
    other column that needs one."""
    plain = {sa.Integer: 1, sa.BigInteger: 1, sa.Boolean: False, sa.DateTime: T, sa.JSON: "{}"}
    row = dict(given)
    for column in sa.Table(table, sa.MetaData(), autoload_with=engine).columns:
        if column.name in row or column.nullable or column.server_default is not None:
            continue
        row[column.name] = next(
            (v for t, v in plain.items() if isinstance(column.type, t)), f"{column.name}-1"
        )
    return row


def _seed(engine: Engine) -> None:
    _insert(engine, "customers", [
        _filled(engine, "customers", id=1, name="Acme", name_key="acme"),
        _filled(engine, "customers", id=2, name="Brightwater", name_key="brightwater"),
    ])  # fmt: skip
    _insert(engine, "jobs", [_filled(engine, "jobs", id=1, customer_id=1)])
    _insert(engine, "runs", [_filled(engine, "runs", id=1, job_id=1)])
    config = {
        "environment": "custom", "api_host": "http://127.0.0.1:8765", "username": "api@x",
        "integration_code": "CODE", "logging_level": "off", "base_url": "https://tb.example",
        "default_queue_id": 5, "allow_resolve": True,
    }  # fmt: skip
    _insert(engine, "integration_settings", [{
        "kind": "autotask", "enabled": True, "config": json.dumps(config),
        "secret_encrypted": SECRET_CIPHERTEXT, "updated_by": "alice", "updated_at": T,
        "reference_synced_at": T,
    }])  # fmt: skip
    _insert(engine, "reference_values", [
        {"id": 1, "kind": "autotask", "category": "queue", "value_id": 5, "name": "Helpdesk",
         "active": True, "is_default": False, "sort_order": 0, "synced_at": T},
        {"id": 2, "kind": "autotask", "category": "status", "value_id": 5, "name": "Complete",
         "active": True, "is_default": False, "sort_order": 1, "synced_at": T},
    ])  # fmt: skip
    _insert(engine, "company_mappings", [{
        "id": 1, "kind": "autotask", "customer_id": 1, "company_id": 0xACE, "company_name": "Acme",
        "status": "ok", "mapped_by": "alice", "mapped_at": T,
    }])  # fmt: skip
    _insert(engine, "ticket_links", [
        {"id": 1, "run_id": 1, "current_run_id": None, "kind": "autotask", "state": "superseded",
         "origin": "created", "ticket_id": 100, "ticket_number": "T1", "created_by": "alice",
         "created_at": T, "create_attempts": 1},
        {"id": 2, "run_id": 1, "current_run_id": 1, "kind": "autotask", "state": "active",
         "origin": "linked", "ticket_id": 200, "ticket_number": "T2", "created_by": "bob",
         "created_at": T, "create_attempts": 0},
    ])  # fmt: skip


# Every head before 0017, so the schema is the one today's installations have.
BEFORE = ("0003", "0007", "0009", "0011", "0012", "0014", "0015", "0016")


def _before_connections(url: str) -> None:
    for revision in BEFORE:
        upgrade(url, revision)


def _rows(engine: Engine, sql: str) -> list[Any]:
    with engine.connect() as connection:
        return list(connection.execute(text(sql)))


def test_the_autotask_settings_become_the_first_connection_with_their_history(
    fresh_url: str,  # noqa: F811 (the fixture)
) -> None:
    _before_connections(fresh_url)
    engine = make_engine(fresh_url)
    try:
        _seed(engine)
        upgrade(fresh_url)

        (connection,) = _rows(engine, "SELECT * FROM psa_connections")
        config = (
            connection.config
            if isinstance(connection.config, dict)
            else json.loads(connection.config)
        )
        links = _rows(engine, "SELECT id, connection_id, kind FROM ticket_links ORDER BY id")
        mappings = _rows(
            engine, "SELECT customer_id, connection_id, company_id FROM company_mappings"
        )
        values = _rows(engine, "SELECT connection_id, category, value_id FROM reference_values")
        customers = _rows(engine, "SELECT ticketing_connection_id FROM customers")
    finally:
        engine.dispose()

    assert (connection.name, connection.kind, connection.enabled) == ("Autotask", "autotask", True)
    assert connection.ticketing_default
    assert connection.secret_encrypted == SECRET_CIPHERTEXT
    assert config["connector"] == {
        "environment": "custom", "api_host": "http://127.0.0.1:8765", "username": "api@x",
        "integration_code": "CODE", "logging_level": "off",
    }  # fmt: skip
    assert config["base_url"] == "https://tb.example" and config["default_queue_id"] == 5
    assert [(link.id, link.connection_id, link.kind) for link in links] == [
        (1, connection.id, "autotask"),
        (2, connection.id, "autotask"),
    ]
    assert [tuple(m) for m in mappings] == [(1, connection.id, 0xACE)]
    assert sorted(tuple(v) for v in values) == [
        (connection.id, "queue", 5),
        (connection.id, "status", 5),
    ]
    assert [c.ticketing_connection_id for c in customers] == [None, None]


def test_the_connections_migration_goes_down_to_the_settings_row_and_up_again(
    fresh_url: str,  # noqa: F811 (the fixture)
) -> None:
    _before_connections(fresh_url)
    engine = make_engine(fresh_url)
    try:
        _seed(engine)
        upgrade(fresh_url)
        downgrade(fresh_url, "0003")
        (row,) = _rows(engine, "SELECT kind, secret_encrypted, config FROM integration_settings")
        config = row.config if isinstance(row.config, dict) else json.loads(row.config)
        kinds = _rows(engine, "SELECT kind FROM ticket_links ORDER BY id")
        upgrade(fresh_url)
        links = _rows(engine, "SELECT connection_id FROM ticket_links")
    finally:
        engine.dispose()

    assert (row.kind, row.secret_encrypted) == ("autotask", SECRET_CIPHERTEXT)
    assert config["username"] == "api@x" and "connector" not in config
    assert [k.kind for k in kinds] == ["autotask", "autotask"]
    assert len(links) == 2 and all(link.connection_id for link in links)
