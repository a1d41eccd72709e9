"""When a stored secret must be forgotten because its destination changed."""

from __future__ import annotations

from ticketbridge.core.secret_binding import changed_destination, fields_clearing_secret

BINDING = ("host", "port", "username")
BEFORE = {"host": "imap.example.com", "port": 993, "username": "backups", "folder": "INBOX"}


def test_a_changed_host_port_or_user_clears_the_secret() -> None:
    for field, value in (("host", "evil.example"), ("port", 1993), ("username", "ceo")):
        after = BEFORE | {field: value}
        assert fields_clearing_secret(BEFORE, after, BINDING, new_secret=False) == (field,)


def test_a_new_secret_in_the_same_change_replaces_it_instead() -> None:
    after = BEFORE | {"host": "evil.example"}
    assert fields_clearing_secret(BEFORE, after, BINDING, new_secret=True) == ()


def test_fields_outside_the_binding_never_clear_it() -> None:
    after = BEFORE | {"folder": "Archive"}
    assert fields_clearing_secret(BEFORE, after, BINDING, new_secret=False) == ()


def test_destinations_compare_without_case_spaces_or_trailing_slash() -> None:
    before = {"host": "https://Emulator.example/", "username": "Ops@Example.com"}
    after = {"host": " https://emulator.example", "username": "ops@example.com"}
    assert changed_destination(before, after, ("host", "username")) == ()


def test_no_value_and_an_empty_value_are_the_same_destination() -> None:
    assert changed_destination({"host": None}, {"host": ""}, ("host",)) == ()
    assert changed_destination({"host": None}, {"host": "x"}, ("host",)) == ("host",)
