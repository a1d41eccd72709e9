"""The boards a desk mailbox's target connection offers, for the Mailboxes form to choose from
instead of an id typed by hand.

What a board is comes from the kind's DeskTarget (connectors/psa/capabilities.py), so nothing
here names a kind: a queue within the mailbox's company (Autotask) is one of the connection's
stored reference values (Settings > Connections loads them; no PSA is asked), and a board that
is the ticket's company itself (a Jira project) is one of the companies the connection lists,
asked of the PSA outside any transaction. A list the connection cannot give leaves the field to
be typed, with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from ticketbridge.connectors.errors import ConnectorError
from ticketbridge.core.psa_governor import Priority
from ticketbridge.services.connections import active as active_connection
from ticketbridge.services.connections import reference
from ticketbridge.services.connections.active import IntegrationUnavailable
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.service_desk import targets
from ticketbridge.storage.models import PsaConnection

MAX_LISTED = 100  # a first page of companies; more than that is typed
LIST_SECONDS = 10.0  # a form waits this long for the PSA at most


@dataclass(frozen=True)
class BoardChoice:
    value: str  # what the mailbox stores: the id
    name: str
    active: bool = True


@dataclass(frozen=True)
class BoardChoices:
    choices: tuple[BoardChoice, ...] = ()
    board_name: str = ""  # "Jira project id", "Autotask queue id"
    note: str = ""  # why there is nothing to choose from


def board_choices(runtime: Runtime, connection_id: int | None) -> BoardChoices:
    with runtime.session_factory() as session:
        connection = session.get(PsaConnection, connection_id) if connection_id else None
        target = targets.of_connection(connection)
        if connection is None or target is None:
            return BoardChoices()
        name = target.board_name
        if not target.board_is_company:
            stored = reference.options(session, connection.id).get("queue", [])
            if not stored:
                note = (
                    f"{connection.name} has no reference data loaded yet (Settings > Connections)."
                )
                return BoardChoices((), name, note)
            return BoardChoices(
                tuple(BoardChoice(str(v.value_id), v.name, v.active) for v in stored), name
            )
    try:
        with (
            runtime.session_factory() as session,
            active_connection.active(
                runtime, session, connection_id, timeout=LIST_SECONDS, priority=Priority.OPERATOR
            ) as psa,
        ):
            session.commit()  # the settings are read: no connection waits on the PSA
            page = psa.connector.search_companies("", page_size=MAX_LISTED)
    except IntegrationUnavailable as exc:
        return BoardChoices((), name, exc.message)
    except ConnectorError as exc:
        return BoardChoices((), name, f"The connection could not list them: {exc.message}")
    return BoardChoices(tuple(BoardChoice(str(c.id), c.name, c.active) for c in page.items), name)
