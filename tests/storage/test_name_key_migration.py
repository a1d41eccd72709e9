"""Migration 0009 gives customers, jobs and mail sources their name keys, on data that already
clashes under the new rule: it never fails, merges nothing, and writes the clashes down."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from tests.conftest import postgres_url
from ticketbridge.storage.db import make_engine
from ticketbridge.storage.migrate import downgrade, upgrade

BEFORE = "0004"  # customers, jobs and mail sources exist; their keys do not yet
T = "2026-01-01 00:00:00"


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of its own: this test migrates step by step."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrate.db'}"
        return
    base = postgres_url()
    try:
        admin = make_engine(base)
        with admin.connect() as connection:
            connection.execute(text("select 1"))
    except Exception as exc:  # no PostgreSQL here
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL unreachable: {exc}", pytrace=False)
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    schema = f"tb_migrate_{uuid.uuid4().hex[:10]}"
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    yield url.render_as_string(hide_password=False)
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def _insert(engine: Engine, table: str, rows: list[dict[str, Any]]) -> None:
    columns = list(rows[0])
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})"
    )
    with engine.begin() as connection:
        connection.execute(text(sql), rows)


def _seed(engine: Engine) -> None:
    names = ["ÖKO Bau", "öko  bau", "Acme", "ACME", "Other"]
    _insert(
        engine,
        "customers",
        [{"id": i, "name": n, "active": True, "created_at": T} for i, n in enumerate(names, 1)],
    )
    jobs = [(1, "Veeam", "Nightly"), (1, "VEEAM", "nightly"), (2, "Veeam", "Nightly")]
    _insert(
        engine,
        "jobs",
        [
            {"id": i, "customer_id": c, "backup_product": p, "job_type": "", "job_name": j}
            | {"host": "", "created_at": T}
            for i, (c, p, j) in enumerate(jobs, 1)
        ],
    )
    run = {"id": 1, "job_id": 2, "status": "error", "started_at": T, "overall_remark": ""}
    _insert(engine, "runs", [run | {"source": "api", "received_at": T, "review_note": ""}])
    _insert(
        engine,
        "mail_sources",
        [
            {"id": i, "kind": "upload", "name": n, "enabled": True, "config": "{}"}
            | {"last_error": "", "fetched_count": 0, "stored_count": 0, "duplicate_count": 0}
            | {"created_at": T}
            for i, n in enumerate(["Uploads", "UPLOADS"], 1)
        ],
    )


def test_existing_name_clashes_keep_their_rows_and_are_written_to_the_audit_trail(
    fresh_url: str,
) -> None:
    upgrade(fresh_url, BEFORE)
    engine = make_engine(fresh_url)
    try:
        _seed(engine)
        upgrade(fresh_url)
        with engine.connect() as connection:
            customers = connection.execute(
                text("SELECT id, name_key FROM customers ORDER BY id")
            ).all()
            jobs = connection.execute(
                text("SELECT id, product_key, job_name_key FROM jobs ORDER BY id")
            ).all()
            sources = connection.execute(
                text("SELECT id, name_key FROM mail_sources ORDER BY id")
            ).all()
            clashes = connection.execute(
                text("SELECT subject FROM audit_events WHERE action = 'name.clash' ORDER BY id")
            ).scalars()
            runs = connection.execute(text("SELECT job_id FROM runs")).scalars().all()
            clash_list = list(clashes)
    finally:
        engine.dispose()

    # The oldest row has the plain key; a later clash keeps its row under a marked key.
    assert customers == [
        (1, "öko bau"),
        (2, "öko bau\x1f2"),
        (3, "acme"),
        (4, "acme\x1f4"),
        (5, "other"),
    ]
    assert jobs == [(1, "veeam", "nightly"), (2, "veeam", "nightly\x1f2"), (3, "veeam", "nightly")]
    assert sources == [(1, "uploads"), (2, "uploads\x1f2")]
    assert clash_list == ["customer 2", "customer 4", "job 2", "mail source 2"]
    assert runs == [2]  # nothing merged, nothing lost


def test_the_name_keys_migration_goes_down_and_up_again(fresh_url: str) -> None:
    upgrade(fresh_url, BEFORE)
    engine = make_engine(fresh_url)
    try:
        _seed(engine)
        upgrade(fresh_url)
        downgrade(fresh_url, BEFORE)
        upgrade(fresh_url)
        with engine.connect() as connection:
            count = connection.execute(text("SELECT count(*) FROM customers")).scalar()
    finally:
        engine.dispose()
    assert count == 5
