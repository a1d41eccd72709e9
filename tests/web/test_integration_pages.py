from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from tests.factories import add_user, csrf_of, login
from tests.services.autotask_world import (
    EMULATOR_URL,
    AutotaskWorld,
    add_customers,
    configure,
    demo_settings,
)
from ticketbridge.core.resolve_policy import RESOLVE_NOTE_TEXT, TIME_ENTRIES_NOTE_TEXT
from ticketbridge.core.roles import Role
from ticketbridge.emulators.autotask import DEMO_API_SECRET

PAGE = "/admin/integrations/autotask"


@pytest.fixture
def world(app: FastAPI) -> Iterator[AutotaskWorld]:
    made = AutotaskWorld()
    made.attach(app.state.ctx)
    yield made
    made.close()


@pytest.fixture
def admin(app: FastAPI, db: sessionmaker[Session], world: AutotaskWorld) -> Iterator[TestClient]:
    add_user(db, "root", Role.ADMIN)
    with TestClient(app) as client:
        assert login(client, "root").status_code == 303
        yield client


def _form(client: TestClient, **fields: str) -> dict[str, str]:
    return {"csrf_token": csrf_of(client.get(PAGE).text), **fields}


def _post(client: TestClient, path: str, **fields: str) -> str:
    response = client.post(path, data=_form(client, **fields), follow_redirects=True)
    assert response.status_code == 200, response.text
    return response.text


def _selected(html: str, name: str) -> str:
    select = re.search(rf'<select name="{name}">(.*?)</select>', html, re.S)
    assert select, name
    chosen = re.search(r"<option [^>]*selected>([^<]*)<", select.group(1))
    return chosen.group(1) if chosen else ""


def _valid_form() -> dict[str, str]:
    settings = demo_settings()
    form = {k: str(v) for k, v in settings.items() if k != "enabled"}
    return form | {"enabled": "true", "logging_level": "off", "max_listed_objects": "5"}


def test_settings_page_shows_every_setting_and_the_fixed_note_texts(
    admin: TestClient, app: FastAPI
) -> None:
    configure(app.state.ctx, enabled=False)
    html = admin.get(PAGE).text

    for name in (
        "enabled",
        "environment",
        "api_host",
        "username",
        "secret",
        "integration_code",
        "base_url",
        "default_queue_id",
        "default_source_id",
        "default_status_id",
        "priority_warning_id",
        "priority_error_id",
        "allow_resolve",
        "allow_manual_ticket_numbers",
        "title_prefix",
        "max_listed_objects",
        "logging_level",
    ):
        assert f'name="{name}"' in html, name
    assert RESOLVE_NOTE_TEXT in html and TIME_ENTRIES_NOTE_TEXT in html
    assert 'value="ticketbridge"' in html  # title prefix default
    for action in ("test", "refresh", "validate"):
        assert f'action="/admin/connections/1/{action}"' in html


def test_invalid_settings_are_shown_at_their_fields_and_the_secret_is_not_echoed(
    admin: TestClient,
) -> None:
    form = _valid_form() | {"api_host": "", "environment": "custom", "base_url": "nope"}

    response = admin.post(PAGE, data=_form(admin, **form))

    assert response.status_code == 422
    assert 'id="api_host-error"' in response.text
    assert 'id="base_url-error"' in response.text
    assert "absolute http(s) URL" in response.text
    assert DEMO_API_SECRET not in response.text
    assert 'value="nope"' in response.text  # what was entered stays in the form


def test_saved_settings_reload_with_the_secret_write_only(admin: TestClient) -> None:
    _post(admin, PAGE, **_valid_form())
    html = _post(admin, PAGE, **(_valid_form() | {"secret": "", "allow_resolve": "true"}))

    assert "Autotask settings saved." in html
    assert DEMO_API_SECRET not in html
    assert "set; leave empty to keep" in html
    assert f'value="{EMULATOR_URL}"' in html
    assert re.search(r'name="allow_resolve" value="true" checked', html)
    tested = _post(admin, PAGE + "/test")
    assert "Test connection: ok" in tested


def test_refresh_fills_the_dropdowns_preselects_defaults_and_marks_inactive_values(
    admin: TestClient, app: FastAPI
) -> None:
    configure(app.state.ctx)

    html = _post(admin, PAGE + "/refresh")

    assert "Refresh reference data: ok" in html
    assert "7 queue" in html
    assert _selected(html, "default_source_id") == "Monitoring Alert"
    assert _selected(html, "default_status_id") == "New"
    assert _selected(html, "priority_warning_id") == "Medium"
    assert _selected(html, "priority_error_id") == "High"
    assert _selected(html, "default_queue_id") == "Helpdesk"
    assert "On Hold (retired) (inactive)" in html


def test_validate_lists_every_problem_and_test_says_what_failed(
    admin: TestClient, app: FastAPI
) -> None:
    configure(app.state.ctx, base_url="", secret="wrong-secret")

    validated = _post(admin, PAGE + "/validate")
    tested = _post(admin, PAGE + "/test")

    assert "Validate configuration: failed" in validated
    for problem in ("base_url:", "reference:", "default_queue_id:", "connection:"):
        assert problem in validated
    assert "Authentication: FAILED" in tested
    assert "Reference data access: not tried" in tested


def test_customers_are_searched_mapped_renamed_acknowledged_and_unmapped(
    admin: TestClient, app: FastAPI, db: sessionmaker[Session], world: AutotaskWorld
) -> None:
    configure(app.state.ctx)
    [customer] = add_customers(db, "Brightwater")
    page = f"/customers/{customer}/autotask"

    found = admin.get(page, params={"search": "bright"}).text
    assert "Brightwater Dental" in found and 'name="company_id" value="102"' in found
    inactive = admin.get(page, params={"search": "old oak"}).text
    assert "no (inactive)" in inactive
    listing = _post(admin, page, company_id="102")
    assert "Mapped to Autotask company Brightwater Dental (102)" in listing
    world.rename_company(102, "Brightwater Dental Group")
    listing = _post(admin, "/admin/connections/1/mappings/validate")
    assert "1 mappings validated" in listing
    assert "Renamed" in listing and "was Brightwater Dental" in listing
    assert "Acknowledge rename" in admin.get(page).text

    acknowledged = _post(admin, page + "/acknowledge")
    assert "Rename acknowledged." in acknowledged and "Previously" not in acknowledged
    unmapped = _post(admin, page + "/unmap")
    assert "Mapping removed." in unmapped
    assert "Not mapped" in admin.get("/customers").text


def test_suggestions_map_only_after_confirmation(
    admin: TestClient, app: FastAPI, db: sessionmaker[Session]
) -> None:
    configure(app.state.ctx)
    [granite] = add_customers(db, "Granite Legal LLP")

    html = admin.get(PAGE + "/suggestions").text
    assert "Granite Legal LLP" in html and "Confirm mapping" in html
    assert "Not mapped" in admin.get("/customers").text

    after = _post(
        admin, f"/customers/{granite}/autotask", company_id="107", back=PAGE + "/suggestions"
    )
    assert "Mapped to Autotask company Granite Legal (107)" in after
    assert "No suggestions." in after


def test_a_reporter_sees_mapping_status_but_no_mapping_actions(
    app: FastAPI, db: sessionmaker[Session]
) -> None:
    add_customers(db, "Brightwater")
    add_user(db, "rita", Role.REPORTER)
    with TestClient(app) as client:
        login(client, "rita")
        html = client.get("/customers").text

    assert "Not mapped" in html
    assert "/psa" not in html and "/autotask" not in html
