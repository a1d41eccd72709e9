"""A reply's files reach the conversation's ticket, each file once however often the
conversation carries it, in Jira and in Autotask; a file left off (too large, a program) is
kept on the mail's row with its reason and listed on the Service desk page's conversation."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine

from tests.services.service_desk.autotask_desk import AutotaskDesk, open_desk, tickets
from tests.services.service_desk.conftest import Desk, mail_with_attachments, open_jira_desk
from ticketbridge.services.service_desk import views
from ticketbridge.services.service_desk.process import Handled, process_pending
from ticketbridge.settings import Settings
from ticketbridge.storage.models import ServiceDeskMail

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 8
PNG = b"\x89PNG\r\n\x1a\n" + b"\x07" * 100
BIG = b"\x00" * (10 * 1024 * 1024 + 1)  # over the desk's 10 MiB (and Autotask's 6 MiB)


@dataclass
class World:
    handle: Callable[[bytes], Handled]
    files: Callable[[], list[tuple[str, bytes]]]  # the ticket's files, oldest first
    runtime: object


@pytest.fixture(params=["jira-emulator", "autotask-emulator"])
def world(
    request: pytest.FixtureRequest, settings: Settings, engine: Engine, db: object
) -> Iterator[World]:
    if request.param == "jira-emulator":
        yield from _jira(settings, engine)
    else:
        yield from _autotask(settings, engine)


def _jira(settings: Settings, engine: Engine) -> Iterator[World]:
    for desk in open_jira_desk(settings, engine):
        yield from _jira_world(desk)


def _jira_world(desk: Desk) -> Iterator[World]:
    def jira_files() -> list[tuple[str, bytes]]:
        [issue] = desk.jira.issues()
        answer = desk.jira.http.get(
            f"/rest/api/3/issue/{issue['key']}", params={"fields": "attachment"}
        )
        found = sorted(answer.json()["fields"]["attachment"], key=lambda a: int(a["id"]))
        content = "/rest/api/3/attachment/content/{}"
        return [
            (
                a["filename"],
                desk.jira.http.get(content.format(a["id"]), params={"redirect": "false"}).content,
            )
            for a in found
        ]

    yield World(desk.handle, jira_files, desk.runtime)


def _autotask(settings: Settings, engine: Engine) -> Iterator[World]:
    for at in open_desk(settings, engine):
        yield from _autotask_world(at)


def _autotask_world(at: AutotaskDesk) -> Iterator[World]:
    def autotask_files() -> list[tuple[str, bytes]]:
        [ticket] = tickets(at)
        listed = at.get(f"/Tickets/{ticket['id']}/Attachments")["items"]
        return [
            (
                a["title"],
                base64.b64decode(
                    at.get(f"/Tickets/{ticket['id']}/Attachments/{a['id']}")["items"][0]["data"]
                ),
            )
            for a in sorted(listed, key=lambda a: int(a["id"]))
        ]

    yield World(at.handle, autotask_files, at.runtime)


def test_a_replys_files_arrive_on_the_ticket_once(world: World) -> None:
    first = world.handle(mail_with_attachments(1, ("log.pdf", PDF)))
    reply = world.handle(
        mail_with_attachments(2, ("log.pdf", PDF), ("screen.png", PNG), reply=True)
    )

    assert (first.outcome, reply.outcome) == ("ticket", "comment")
    assert world.files() == [("log.pdf", PDF), ("screen.png", PNG)]

    # The reply delivered again and a third mail quoting both files: nothing more arrives.
    assert process_pending(world.runtime) == []  # type: ignore[arg-type]
    world.handle(mail_with_attachments(3, ("screen.png", PNG), ("log.pdf", PDF), reply=True))
    assert [name for name, _ in world.files()] == ["log.pdf", "screen.png"]


def test_a_too_large_file_is_listed_with_its_reason_on_the_conversation(world: World) -> None:
    world.handle(mail_with_attachments(1))
    reply = world.handle(
        mail_with_attachments(2, ("dump.bin", BIG), ("screen.png", PNG), reply=True)
    )

    assert world.files() == [("screen.png", PNG)]
    with world.runtime.session_factory() as session:  # type: ignore[attr-defined]
        row = session.query(ServiceDeskMail).filter_by(mail_id=reply.mail_id).one()
        assert "Not attached: dump.bin (" in row.detail
        [shown] = views.conversations(session).rows
    [(name, reason)] = shown.skipped_files
    assert name == "dump.bin" and "bytes" in reason
