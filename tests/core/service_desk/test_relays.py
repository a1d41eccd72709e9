"""The relayed comment's mail and which notes may go, as pure rules."""

from __future__ import annotations

from ticketbridge.core.service_desk.relays import ThreadTip, compose_relay, relay_refusal


def _compose(tip: ThreadTip, text: str = "Fixed: costs $5.") -> dict[str, str]:
    composed = compose_relay(
        ticket_key="SUP-7",
        tip=tip,
        text=text,
        author_name="Tess Tech",
        recipient="ann@customer.example",
        recipient_name="Ann",
        mailbox_address="support@msp.example",
        message_id="comment-1@msp.example",
    )
    return {**dict(composed.headers), "body": composed.body}


def test_the_reply_answers_the_last_message_and_keeps_the_thread_root() -> None:
    chain = tuple(f"m{n}@x" for n in range(30))
    mail = _compose(ThreadTip("last@x", chain, "Re: [SUP-7] Printer down"))

    assert mail["Subject"] == "[SUP-7] Re: Printer down"
    assert mail["In-Reply-To"] == "<last@x>"
    references = mail["References"].split()
    assert references[0] == "<m0@x>" and references[-1] == "<last@x>" and len(references) == 20
    assert mail["X-Ticketbridge-Notification"] == "SUP-7"
    assert mail["Message-ID"] == "<comment-1@msp.example>"
    assert mail["body"].startswith("Tess Tech wrote on SUP-7:\n\nFixed: costs $5.\n")


def test_a_thread_without_a_known_message_is_not_threaded_but_keeps_the_key() -> None:
    mail = _compose(ThreadTip(""))

    assert "In-Reply-To" not in mail and "References" not in mail
    assert mail["Subject"] == "[SUP-7] Re: (no subject)"


def test_only_public_notes_neither_the_desks_own_nor_relayed_before_go() -> None:
    def refusal(**changes: object) -> str | None:
        values: dict[str, object] = {
            "note_id": "5",
            "visibility": "public",
            "by_customer": False,
            "desk_written": {"4"},
            "relayed": False,
        }
        return relay_refusal(**{**values, **changes})  # type: ignore[arg-type]

    assert refusal() is None
    assert refusal(visibility="internal") == "internal"
    assert refusal(note_id="4") == "the desk's own comment"
    assert refusal(by_customer=True) == "written by the customer"
    assert refusal(relayed=True) == "relayed before"
