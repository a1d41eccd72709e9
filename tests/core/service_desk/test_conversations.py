from __future__ import annotations

from tests.core.service_desk.mails import built, fixture
from ticketbridge.core.service_desk.conversations import (
    Action,
    Evidence,
    KnownTicket,
    ThreadIndex,
    conversation_key,
    decide_thread,
    thread_candidates,
)
from ticketbridge.core.service_desk.subjects import KeyPattern

SUP_123 = KnownTicket("SUP-123")
FIRST_MAIL = "AM6PR02MB4423A1B2C3D4E5F6@am6pr02mb4423.eurprd02.prod.outlook.com"
OUR_NOTIFICATION = "20240305091300.4711@mail.msp.example"


def test_the_first_mail_of_a_conversation_opens_a_ticket() -> None:
    decision = decide_thread(fixture("new_request"), ThreadIndex())
    assert (decision.action, decision.evidence) == (Action.NEW_TICKET, Evidence.NONE)
    assert decision.ticket_key is None and "No earlier mail" in decision.reason


def test_a_reply_with_the_key_in_its_subject_comments_on_that_ticket() -> None:
    index = ThreadIndex(ticket_keys={"SUP-123": SUP_123})
    decision = decide_thread(fixture("reply_with_jira_key"), index)
    assert (decision.action, decision.ticket_key) == (Action.COMMENT, "SUP-123")
    assert decision.evidence is Evidence.SUBJECT_KEY
    assert decision.reason == "The subject names SUP-123; added as a comment."


def test_a_reply_threaded_only_by_references_comments_on_the_ticket() -> None:
    # In-Reply-To names a draft we never saw; References still hold our notification.
    index = ThreadIndex(message_ids={OUR_NOTIFICATION: SUP_123})
    decision = decide_thread(fixture("reply_threaded_by_references"), index)
    assert (decision.action, decision.ticket_key) == (Action.COMMENT, "SUP-123")
    assert decision.evidence is Evidence.REFERENCES


def test_in_reply_to_is_weighed_before_references_and_the_subject() -> None:
    mail = built(
        "Subject: Re: [SUP-9] printer",
        "In-Reply-To: <b@x.example>",
        "References: <a@x.example> <b@x.example>",
    )
    index = ThreadIndex(
        message_ids={"a@x.example": KnownTicket("SUP-1"), "b@x.example": KnownTicket("SUP-2")},
        ticket_keys={"SUP-9": KnownTicket("SUP-9")},
    )
    decision = decide_thread(mail, index)
    assert (decision.evidence, decision.ticket_key) == (Evidence.IN_REPLY_TO, "SUP-2")


def test_the_newest_reference_is_weighed_first() -> None:
    mail = built("References: <a@x.example> <b@x.example>")
    index = ThreadIndex(
        message_ids={"a@x.example": KnownTicket("SUP-1"), "b@x.example": KnownTicket("SUP-2")}
    )
    assert decide_thread(mail, index).ticket_key == "SUP-2"


def test_message_ids_match_whatever_the_case_of_their_domain() -> None:
    mail = built("In-Reply-To: <Abc@MAIL.MSP.EXAMPLE>")
    index = ThreadIndex(message_ids={"Abc@mail.msp.example": SUP_123})
    assert decide_thread(mail, index).action is Action.COMMENT


def test_a_graph_conversation_id_threads_a_mail_without_reply_headers() -> None:
    mail = fixture("new_request", conversation_id="AAQkADk0")
    index = ThreadIndex(conversation_ids={"AAQkADk0": SUP_123})
    decision = decide_thread(mail, index)
    assert (decision.evidence, decision.ticket_key) == (Evidence.CONVERSATION_ID, "SUP-123")
    assert conversation_key(mail) == "graph:AAQkADk0"


def test_a_key_this_desk_does_not_know_opens_a_new_ticket_and_says_so() -> None:
    decision = decide_thread(fixture("reply_with_jira_key"), ThreadIndex())
    assert decision.action is Action.NEW_TICKET
    assert decision.reason.startswith("SUP-123 in the subject is not a ticket this desk knows")


def test_a_mail_handled_before_is_not_handled_again() -> None:
    mail = fixture("new_request")
    decision = decide_thread(mail, ThreadIndex(message_ids={mail.message_id: SUP_123}))
    assert (decision.action, decision.ticket_key) == (Action.ALREADY_DONE, "SUP-123")


def test_a_reply_to_a_deleted_ticket_opens_a_new_one_that_replaces_it() -> None:
    gone = KnownTicket("SUP-123", deleted=True)
    index = ThreadIndex(message_ids={OUR_NOTIFICATION: gone}, ticket_keys={"SUP-123": gone})
    decision = decide_thread(fixture("reply_threaded_by_references"), index)
    assert (decision.action, decision.replaces) == (Action.NEW_TICKET, "SUP-123")
    assert "deleted in the PSA" in decision.reason and decision.ticket_key is None


def test_a_live_ticket_later_in_the_thread_wins_over_a_deleted_one() -> None:
    mail = built("References: <old@x.example> <new@x.example>", "In-Reply-To: <new@x.example>")
    index = ThreadIndex(
        message_ids={
            "old@x.example": KnownTicket("SUP-1", deleted=True),
            "new@x.example": KnownTicket("SUP-2"),
        }
    )
    assert decide_thread(mail, index).ticket_key == "SUP-2"
    mail = built("References: <new@x.example> <old@x.example>")
    assert decide_thread(mail, index).ticket_key == "SUP-2"


def test_autotask_numbers_and_configured_patterns_thread_by_subject() -> None:
    index = ThreadIndex(ticket_keys={"T20240101.0001": KnownTicket("T20240101.0001")})
    mail = built("Subject: RE: Ticket T20240101.0001 - printer")
    assert decide_thread(mail, index).ticket_key == "T20240101.0001"
    custom = [KeyPattern("hash", r"#(\d{4,8})")]
    index = ThreadIndex(ticket_keys={"4711": KnownTicket("4711")})
    assert decide_thread(built("Subject: Re: #4711"), index, custom).ticket_key == "4711"


def test_candidates_name_exactly_what_to_look_up() -> None:
    mail = fixture("reply_threaded_by_references")
    candidates = thread_candidates(mail)
    assert candidates.message_ids == (
        "CAJx9r1reply2@mail.customer.example",
        "unknown-client-draft-77@mail.customer.example",
        OUR_NOTIFICATION,
        FIRST_MAIL,
    )
    assert candidates.ticket_keys == () and candidates.conversation_id == ""


def test_the_conversation_key_is_the_thread_root_for_every_mail_of_it() -> None:
    first, reply = fixture("new_request"), fixture("reply_threaded_by_references")
    assert conversation_key(first) == conversation_key(reply) == FIRST_MAIL
