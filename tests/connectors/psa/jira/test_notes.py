"""Jira comments read back where the emulators do not go: comments that do not say
``jsdPublic`` (what a Jira without Service Management may answer), incomplete embedded
comment lists, and ADF bodies beyond plain paragraphs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.connectors.psa.jira.scripted import ScriptedJira, connector, datacenter, jira_error, ok
from ticketbridge.connectors.errors import RemoteNotFound
from ticketbridge.connectors.psa.jira import notes

SINCE = datetime(2026, 1, 2, 9, 0, tzinfo=UTC)


def comment(comment_id: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": str(comment_id),
        "body": f"comment {comment_id}",
        "author": {"key": "jsmith", "name": "jsmith", "displayName": "J. Smith"},
        "created": "2026-01-02T10:00:00.000+0000",
        "updated": "2026-01-02T10:00:00.000+0000",
    } | extra


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        ({"jsdPublic": True}, "public"),
        ({"jsdPublic": False}, "internal"),
        ({"jsdPublic": True, "visibility": {"type": "role", "value": "Developers"}}, "internal"),
        ({"properties": []}, "public"),
        ({"properties": [{"key": "sd.public.comment", "value": {"internal": True}}]}, "internal"),
        (
            {
                "jsdPublic": True,
                "properties": [{"key": "sd.public.comment", "value": {"internal": "true"}}],
            },
            "internal",
        ),
        ({}, "internal"),  # says nothing: never taken as public
    ],
)
def test_a_comment_is_public_only_when_jira_says_everyone_may_read_it(
    shape: dict[str, Any], expected: str
) -> None:
    assert notes.visibility(comment(1, **shape)) == expected


def test_embedded_comments_that_do_not_say_jsd_public_are_read_again_with_properties() -> None:
    jira = ScriptedJira()
    embedded = {"comments": [comment(5)], "total": 1, "maxResults": 1}
    jira.on(
        "POST",
        "/rest/api/2/search",
        ok({"issues": [{"id": "7", "fields": {"comment": embedded}}], "total": 1}),
    )
    internal = [{"key": "sd.public.comment", "value": {"internal": True}}]
    jira.on(
        "GET",
        "/rest/api/2/issue/7/comment",
        ok({"comments": [comment(5, properties=internal)], "total": 1, "startAt": 0}),
    )

    [found] = notes.changed_since(connector(jira, datacenter()), SINCE)

    assert (found.id, found.ticket_id, found.visibility) == (5, 7, "internal")
    assert (found.author_id, found.author_name) == ("jsmith", "J. Smith")
    listing = jira.sent[-1]
    assert listing.params["expand"] == ["properties"]
    assert jira.paths() == ["POST /rest/api/2/search", "GET /rest/api/2/issue/7/comment"]


def test_an_incomplete_embedded_list_is_completed_from_the_issue_s_comments() -> None:
    jira = ScriptedJira()
    embedded = {"comments": [comment(1, jsdPublic=True)], "total": 2, "maxResults": 1}
    jira.on(
        "POST",
        "/rest/api/3/search/jql",
        ok({"issues": [{"id": "7", "fields": {"comment": embedded}}], "isLast": True}),
    )
    both = [comment(1, jsdPublic=True), comment(2, jsdPublic=False)]
    jira.on("GET", "/rest/api/3/issue/7/comment", ok({"comments": both, "total": 2}))

    found = notes.changed_since(connector(jira), SINCE)

    assert [(n.id, n.visibility) for n in found] == [(1, "public"), (2, "internal")]


def test_an_old_comment_on_a_changed_issue_is_not_a_changed_note() -> None:
    jira = ScriptedJira()
    old = comment(1, jsdPublic=True, updated="2026-01-02T08:59:59.999+0000")
    embedded = {"comments": [old, comment(2, jsdPublic=True)], "total": 2}
    jira.on(
        "POST",
        "/rest/api/3/search/jql",
        ok({"issues": [{"id": "7", "fields": {"comment": embedded}}], "isLast": True}),
    )

    assert [n.id for n in notes.changed_since(connector(jira), SINCE)] == [2]
    [search] = jira.sent
    assert search.body["jql"].startswith(f"updated >= {int(SINCE.timestamp() * 1000) - 60_000} ")
    assert search.body["fields"] == ["comment"]


def test_adf_bodies_read_as_text() -> None:
    body = {
        "type": "doc",
        "version": 1,
        "content": [
            {
                "type": "paragraph",
                "content": [
                    {"type": "text", "text": "Line one"},
                    {"type": "hardBreak"},
                    {"type": "text", "text": "line two"},
                ],
            },
            {
                "type": "bulletList",
                "content": [
                    {
                        "type": "listItem",
                        "content": [
                            {"type": "paragraph", "content": [{"type": "text", "text": "a"}]}
                        ],
                    },
                    {
                        "type": "listItem",
                        "content": [
                            {"type": "paragraph", "content": [{"type": "text", "text": "b"}]}
                        ],
                    },
                ],
            },
        ],
    }

    assert notes.plain_text(body) == "Line one\nline two\n\na\nb"
    assert notes.plain_text("wiki *text*") == "wiki *text*"
    assert notes.plain_text(None) == ""


def test_a_public_comment_is_one_request_and_a_deleted_issue_says_so() -> None:
    jira = ScriptedJira()
    jira.on("POST", "/rest/api/3/issue/7/comment", ok({"id": "31"}, 201))
    jira.on("POST", "/rest/api/3/issue/8/comment", jira_error(404, "Issue does not exist"))
    psa = connector(jira)

    assert psa.add_note(7, "Still down.", internal=False) == 31
    with pytest.raises(RemoteNotFound):
        psa.add_note(8, "Anyone?", internal=False)

    # No read of the issue first: that is needed only to place an internal note.
    assert jira.paths() == ["POST /rest/api/3/issue/7/comment", "POST /rest/api/3/issue/8/comment"]
