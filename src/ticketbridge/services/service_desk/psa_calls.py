"""Step 2 of handling a desk mail (services.service_desk.process): the PSA calls, outside any
database transaction. A comment is a public note on the conversation's ticket; a new ticket is
the mail's draft in the target connection's terms. A ticket gone from the PSA (RemoteNotFound
on the comment) makes a new ticket that replaces it.

The category and labels go as the draft's tags (Jira labels); the sender and the Cc as its
reporter and watchers, which the PSA links where it knows the address (Jira accounts, Autotask
contacts of the company) and reports otherwise: the mail's record says which. The top of the
ticket's text still names the sender, the Cc, the category and labels, so an agent sees them
whatever the PSA could link.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ticketbridge.connectors import registry
from ticketbridge.connectors.errors import ConnectorError, RemoteNotFound
from ticketbridge.connectors.psa.base import RemoteTicket, TicketDraft, TicketPeople
from ticketbridge.connectors.psa.capabilities import DeskTarget
from ticketbridge.core.plain_text import cap
from ticketbridge.core.psa_governor import Priority
from ticketbridge.core.service_desk.drafts import MailCommentDraft, MailTicketDraft
from ticketbridge.core.service_desk.mail import DeskMail
from ticketbridge.services.connections import active as active_connection
from ticketbridge.services.connections.active import ActiveConnection
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.service_desk import mail_uploads


@dataclass(frozen=True)
class Target:
    """A conversation's ticket."""

    conversation_id: int
    ticket_id: int
    ticket_key: str


@dataclass(frozen=True)
class Plan:
    """Everything step 2 needs, read in step 1 (no ORM rows: the session is closed)."""

    record_id: int
    mail_id: int
    mailbox_id: int
    connection_id: int
    desk_target: DeskTarget
    sender: str
    received_at: datetime
    conversation_key: str
    ticket: MailTicketDraft
    comment: MailCommentDraft
    target: Target | None  # comment on this ticket
    replaces: Target | None  # a new ticket standing in for this deleted one
    external_id: str
    search_first: bool
    company_id: int | None
    reason: str
    mail: DeskMail  # what the sender's notification answers
    # The sha256 of the files the desk sent to the target's ticket before (a reply's are not
    # sent twice).
    files_held: frozenset[str] = frozenset()
    company_by_sender: bool = False  # find the company by the sender (mailboxes.DeskSettings)
    source_id: int | None = None  # the PSA's "Email" source (targets.mail_source)


@dataclass(frozen=True)
class Made:
    comment_id: int | None = None
    ticket: RemoteTicket | None = None
    replaced: Target | None = None
    ticket_url: str = ""  # the new ticket's page, for the sender's notification
    files: mail_uploads.FilesSent | None = None
    company: str = ""  # which company the ticket went to, and why, for the mail's record


# A run's answers of the sender-company lookups: (connection, "contact"|"domain", text) -> id.
CompanyCache = dict[tuple[int, str, str], int | None]


def act(runtime: Runtime, plan: Plan, companies: CompanyCache | None = None) -> Made:
    """Raises IntegrationUnavailable before anything is sent, ConnectorError from the PSA.
    ``companies``: the run's sender-company answers, so each is asked once a run."""
    with (
        runtime.session_factory() as session,
        active_connection.active(
            runtime, session, plan.connection_id, priority=Priority.ROUNDTRIP
        ) as psa,
    ):
        session.commit()  # the settings are read: no connection is held while the PSA answers
        gone = plan.replaces
        if plan.target is not None:
            try:
                note = psa.connector.add_note(
                    plan.target.ticket_id, comment_text(plan.comment), internal=False
                )
                sent = mail_uploads.send_files_of_mail(
                    session,
                    plan.mail_id,
                    psa.kind,
                    psa.connector,
                    plan.target.ticket_id,
                    found_again=plan.search_first,  # an earlier try may have sent some
                    already_sent=plan.files_held,
                )
                return Made(comment_id=note, files=sent)
            except RemoteNotFound:
                gone = plan.target
        found: RemoteTicket | None = None
        if plan.search_first:
            existing = psa.connector.find_tickets(external_id=plan.external_id)
            found = existing[0] if existing else None
        company, said = (
            (None, "")
            if found
            else sender_company(psa, plan, {} if companies is None else companies)
        )
        ticket = found or psa.connector.create_ticket(ticket_draft(plan, psa, company))
        files = mail_uploads.send_files_of_mail(
            session, plan.mail_id, psa.kind, psa.connector, ticket.id, found_again=found is not None
        )
        return Made(
            ticket=ticket,
            replaced=gone,
            ticket_url=page_of(psa, ticket.id),
            files=files,
            company=said,
        )


def page_of(psa: ActiveConnection, ticket_id: int) -> str:
    """The ticket's page in the PSA, for ``$ticket_url``; empty where the kind names none or
    the PSA could not say (the ticket is made either way)."""
    try:
        return registry.ticket_url(psa.kind)(psa.connector, ticket_id) or ""
    except ConnectorError:
        return ""


def sender_company(
    psa: ActiveConnection, plan: Plan, cache: CompanyCache
) -> tuple[int | None, str]:
    """The company a mailbox that finds it by the sender opens the ticket for: the sender's
    contact's, else their domain's, else the mailbox's (None: ``plan.company_id`` as it is);
    and the sentence saying which, for the mail's record."""
    finder = registry.sender_company(psa.kind)
    if not plan.company_by_sender or finder is None or plan.desk_target.board_is_company:
        return None, ""
    address = plan.sender.lower()
    domain = address.rpartition("@")[2]
    asks = (("contact", address, finder.by_contact), ("domain", domain, finder.by_domain))
    for how, text, ask in asks:
        key = (plan.connection_id, how, text)
        if text and key not in cache:
            cache[key] = ask(psa.connector, text)
        if cache.get(key) is not None:
            whose = "the sender's contact" if how == "contact" else f"the sender's domain {text}"
            return cache[key], f"Company {cache[key]}: {whose}."
    return None, f"Company {plan.company_id}: the mailbox's (none found by the sender)."


def ticket_draft(plan: Plan, psa: ActiveConnection, company: int | None = None) -> TicketDraft:
    draft = plan.ticket
    limit = plan.desk_target.description
    if plan.desk_target.board_is_company:
        # The board is the ticket's company (a Jira project); the issue type is the connection's.
        return TicketDraft(
            company_id=int(draft.board),
            title=draft.title,
            description=cap(ticket_text(draft), limit),
            external_id=plan.external_id,
            labels=draft.labels,
            reporter=draft.reporter or None,
            watchers=draft.watchers,
        )
    defaults = psa.defaults
    return TicketDraft(
        company_id=int(company or plan.company_id or 0),
        title=draft.title,
        description=cap(ticket_text(draft), limit),
        queue_id=int(draft.board) if draft.board.isdigit() else defaults.queue_id,
        source_id=plan.source_id or defaults.source_id,
        status_id=defaults.status_id,
        external_id=plan.external_id,
        labels=draft.labels,
        reporter=draft.reporter or None,
        watchers=draft.watchers,
    )


def people_sentence(people: TicketPeople | None) -> str:
    """What the PSA made of the sender and the Cc, for the mail's record."""
    if people is None:
        return ""
    said = []
    if people.reporter:
        said.append(f"Reporter: {people.reporter}.")
    if people.watchers:
        said.append(f"Watching: {', '.join(people.watchers)}.")
    if people.unlinked:
        named = "; ".join(f"{address} ({why})" for address, why in people.unlinked)
        said.append(f"Not linked: {named}.")
    return " ".join(said)


def ticket_text(draft: MailTicketDraft) -> str:
    lines = [f"From: {_who(draft.reporter_name, draft.reporter)}"]
    if draft.watchers:
        lines.append(f"Cc: {', '.join(draft.watchers)}")
    if draft.category:
        labels = f" (labels: {', '.join(draft.labels)})" if draft.labels else ""
        lines.append(f"Category: {draft.category}{labels}")
    return "\n".join(lines) + "\n\n" + draft.description


def comment_text(draft: MailCommentDraft) -> str:
    return f"From: {_who(draft.author_name, draft.author)}\n\n{draft.text}"


def _who(name: str, address: str) -> str:
    if name and address:
        return f"{name} <{address}>"
    return address or name or "(unknown sender)"
