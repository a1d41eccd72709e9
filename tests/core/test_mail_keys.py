from __future__ import annotations

from ticketbridge.core.mail_keys import (
    digest_of_run,
    key_digest,
    message_key,
    run_external_id,
    sender_matches,
    subject_matches,
)


def test_message_key_is_the_message_id_without_brackets() -> None:
    assert message_key(" <abc@host.example>\r\n", b"x") == "abc@host.example"


def test_message_key_falls_back_to_the_hash_of_the_bytes() -> None:
    assert message_key("", b"one") != message_key("", b"two")
    assert message_key("", b"one").startswith("sha256:")
    assert message_key("<" + "a" * 400 + ">", b"one").startswith("sha256:")


def test_run_external_id_is_stable_and_leads_back_to_the_mail() -> None:
    external = run_external_id("abc@host", 2)
    assert external == run_external_id("abc@host", 2) != run_external_id("abc@host", 1)
    assert digest_of_run(external) == key_digest("abc@host")
    assert digest_of_run("missed:1:2026") is None and digest_of_run(None) is None


def test_sender_rules_match_an_address_or_a_domain_and_its_subdomains() -> None:
    assert sender_matches("backup@acme.com", "Backup@Acme.com")
    assert not sender_matches("backup@acme.com", "other@acme.com")
    assert sender_matches("acme.com", "nas@backup.acme.com")
    assert sender_matches("@acme.com", "nas@acme.com")
    assert not sender_matches("acme.com", "nas@notacme.com")


def test_subject_patterns_are_globs_or_substrings_ignoring_case() -> None:
    assert subject_matches("acme", "[Success] ACME nightly")
    assert subject_matches("*nightly", "[Success] ACME nightly")
    assert not subject_matches("nightly*", "[Success] ACME nightly")
    assert not subject_matches("", "anything")
