"""Projects as companies, the picklists Jira has, and the settings model."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tests.connectors.psa.jira.scripted import (
    BASE,
    TOKEN,
    ScriptedJira,
    config,
    connector,
    datacenter,
    ok,
)
from ticketbridge.connectors.psa.base import RemoteCompany, capabilities_of
from ticketbridge.connectors.psa.jira.config import JiraConfig
from ticketbridge.connectors.registry import load

V3 = "/rest/api/3"


def project(pid: int, name: str, *, archived: bool = False) -> dict[str, object]:
    return {"id": str(pid), "key": f"K{pid}", "name": name, "archived": archived}


def test_cloud_searches_live_and_archived_projects_and_pages_by_offset() -> None:
    jira = ScriptedJira()
    jira.on(
        "GET",
        f"{V3}/project/search",
        ok(
            {
                "values": [project(2, "Contoso"), project(3, "Contoso Old", archived=True)],
                "isLast": False,
            }
        ),
        ok({"values": [project(4, "CONTOSO group"), project(5, "Fabrikam")], "isLast": True}),
    )
    psa = connector(jira)

    first = psa.search_companies("contoso", page_size=2)
    second = psa.search_companies("contoso", page_size=2, cursor=first.next_cursor)

    assert first.items == (RemoteCompany(2, "Contoso"), RemoteCompany(3, "Contoso Old", False))
    assert [c.id for c in second.items] == [4] and second.next_cursor is None
    params = jira.sent[1].params
    assert params["query"] == ["contoso"] and params["startAt"] == ["2"]
    assert params["status"] == ["live", "archived"]


def test_cloud_gets_projects_by_repeated_ids_and_omits_unknown_ones() -> None:
    jira = ScriptedJira()
    jira.on("GET", f"{V3}/project/search", ok({"values": [project(2, "Contoso")], "isLast": True}))

    found = connector(jira).get_companies([2, 99, 2])

    assert found == {2: RemoteCompany(2, "Contoso")}
    assert jira.sent[0].params["id"] == ["2", "99"]
    assert connector(ScriptedJira()).get_companies([]) == {}


def test_data_center_lists_projects_once_and_filters_here() -> None:
    jira = ScriptedJira()
    listed = [project(n, f"Customer {n}") for n in (1, 2, 3)] + [project(4, "Other")]
    jira.on("GET", "/rest/api/2/project", ok(listed))
    psa = connector(jira, datacenter())

    page = psa.search_companies("customer", page_size=2)
    rest = psa.search_companies("customer", page_size=2, cursor=page.next_cursor)

    assert [c.id for c in page.items] == [1, 2] and [c.id for c in rest.items] == [3]
    assert rest.next_cursor is None
    assert jira.sent[0].params["includeArchived"] == ["true"]


def test_reference_data_maps_issue_types_statuses_and_priorities() -> None:
    jira = ScriptedJira()
    jira.on(
        "GET",
        f"{V3}/issuetype",
        ok(
            [
                {"id": "10003", "name": "Sub-task", "subtask": True},
                {"id": "10002", "name": "Task"},
                {"id": "10020", "name": "Task"},  # a team-managed project's own
                {"id": "10001", "name": "Bug"},
            ]
        ),
    )
    jira.on(
        "GET",
        f"{V3}/status",
        ok(
            [
                {"id": "6", "name": "Closed", "statusCategory": {"key": "done"}},
                {"id": "3", "name": "In Progress", "statusCategory": {"key": "indeterminate"}},
                {"id": "1", "name": "Open", "statusCategory": {"key": "new"}},
            ]
        ),
    )
    jira.on(
        "GET",
        f"{V3}/priority",
        ok(
            {
                "values": [
                    {"id": "1", "name": "Highest"},
                    {"id": "3", "name": "Medium", "isDefault": True},
                ]
            }
        ),
    )

    ref = connector(jira).reference_data()

    assert len(jira.sent) == 3
    assert [(q.id, q.name, q.is_default) for q in ref.queues] == [
        (10001, "Bug", False),
        (10002, "Task", True),
    ]
    assert [(s.name, s.category, s.is_default) for s in ref.statuses] == [
        ("Open", "new", True),
        ("In Progress", "indeterminate", False),
        ("Closed", "done", False),
    ]
    assert [p.name for p in ref.priorities if p.is_default] == ["Medium"]
    assert ref.sources == () and ref.note_types == ()


def test_the_registry_knows_jira_and_it_declares_what_jira_lacks() -> None:
    cls = load("jira")
    caps = capabilities_of(cls)

    assert cls.kind == "jira" and cls.Config is JiraConfig
    assert caps.user_defined_fields and not caps.configuration_items
    assert connector(ScriptedJira()).find_configuration_items("Device ID", "x") == []


@pytest.mark.parametrize(
    "settings",
    [
        {"base_url": BASE, "email": "a@b.c"},  # Cloud without a token
        {"base_url": BASE, "deployment": "datacenter"},  # Data Center without a PAT
        {"base_url": "jira.example.com", "email": "a@b.c", "api_token": "t"},
        {
            "base_url": BASE,
            "deployment": "datacenter",
            "personal_access_token": "p",
            "api_version": 3,
        },
        {"base_url": BASE, "email": "a@b.c", "api_token": "t", "internal_visibility_type": "role"},
    ],
)
def test_config_refuses_incomplete_or_impossible_settings(settings: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        JiraConfig(**settings)


def test_config_picks_the_rest_version_by_deployment() -> None:
    assert config().rest_version == 3 and config().uses_adf
    assert datacenter().rest_version == 2 and not datacenter().uses_adf
    assert config(api_version=2).rest_version == 2
    assert config(base_url=BASE + "/").base_url == BASE
    assert TOKEN not in config().model_dump_json()
