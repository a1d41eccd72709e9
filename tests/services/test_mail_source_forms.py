"""Each kind of mail source gets a form from its connector's config model, and a source is
refused with every problem at once."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from ticketbridge.services.mail import source_forms as forms
from ticketbridge.services.mail import sources as mail_sources
from ticketbridge.services.mail.sources import FieldProblem, SourceInvalid
from ticketbridge.storage.secrets import SecretBox

BOX = SecretBox("k" * 48)


def _by_name(kind: str) -> dict[str, forms.FormField]:
    return {f.name: f for f in forms.fields_of(kind)}


def test_the_imap_form_has_one_input_per_setting_typed_by_the_model() -> None:
    fields = _by_name("imap")
    assert list(fields)[:6] == ["host", "port", "security", "verify_tls", "username", "password"]
    assert (fields["host"].input, fields["host"].required) == ("text", True)
    assert (fields["port"].input, fields["port"].default) == ("number", "")
    assert fields["security"].choices == ("tls", "starttls", "plain")
    assert (fields["verify_tls"].input, fields["verify_tls"].default) == ("check", "true")
    assert fields["password"].input == "secret"
    assert (fields["folder"].default, fields["timeout_seconds"].default) == ("INBOX", "30")
    assert fields["batch_size"].advanced and not fields["folder"].advanced


def test_the_graph_and_smtp_forms_follow_their_models() -> None:
    graph = _by_name("graph")
    assert graph["client_secret"].input == "secret" and graph["tenant_id"].label == "Tenant ID"
    assert graph["mailbox"].help == "UPN or object id of the mailbox"
    smtp = _by_name("smtp")
    assert smtp["accepted_recipients"].input == "lines" and smtp["accepted_recipients"].required
    assert forms.secret_field("smtp") is None and forms.fields_of("upload") == []


def test_a_form_becomes_the_config_the_model_validates() -> None:
    form = {
        "config.host": " imap.example.com ",
        "config.port": "",
        "config.security": "starttls",
        "config.username": "backups",
        "config.folder": "Reports",
        "config.password": "never read from here",
    }
    config = forms.config_from_form("imap", form)
    assert config == {
        "host": "imap.example.com",
        "security": "starttls",
        "verify_tls": False,
        "username": "backups",
        "folder": "Reports",
    }
    recipients = {"config.accepted_recipients": "intake@msp.example\n@acme.example, *\n"}
    assert forms.config_from_form("smtp", recipients)["accepted_recipients"] == [
        "intake@msp.example",
        "@acme.example",
        "*",
    ]


def test_the_form_shows_a_stored_config_over_the_defaults_and_typed_values_as_typed() -> None:
    shown = forms.values_of("smtp", {"port": 2526, "accepted_recipients": ["a@b.example", "*"]})
    assert shown["port"] == "2526" and shown["host"] == "127.0.0.1"
    assert shown["accepted_recipients"] == "a@b.example\n*"
    typed = forms.typed_values("imap", {"config.port": "99999", "config.verify_tls": "true"})
    assert typed["port"] == "99999" and typed["verify_tls"] == "true" and typed["host"] == ""
    assert "password" not in typed


def test_every_problem_of_a_new_source_is_reported_at_once(session: Session) -> None:
    config = {"port": "99999", "batch_size": "many", "security": "plain"}
    with pytest.raises(SourceInvalid) as refused:
        mail_sources.create_source(
            session, BOX, kind="imap", name=" ", config=config, secret=None, actor="t"
        )
    fields = {p.field: p.message for p in refused.value.problems}
    assert set(fields) == {"name", "secret", "host", "port", "username", "batch_size"}
    assert fields["port"] == "Input should be less than or equal to 65535"
    assert fields["secret"] == "a password is required"
    assert refused.value.field == "name"  # the first, for callers that show one


def test_a_check_across_fields_is_shown_at_the_field_it_concerns(session: Session) -> None:
    with pytest.raises(SourceInvalid) as refused:
        mail_sources.create_source(
            session,
            BOX,
            kind="imap",
            name="Plain",
            config={"host": "mail.example.com", "security": "plain", "username": "u"},
            secret="pw",
            actor="t",
        )
    assert refused.value.problems == [
        FieldProblem("security", "plain IMAP (no TLS) is allowed only to a loopback address")
    ]


def test_an_update_reports_name_and_config_problems_together_and_changes_nothing(
    session: Session,
) -> None:
    mail_sources.create_source(
        session, BOX, kind="upload", name="Uploads", config={}, secret=None, actor="t"
    )
    source = mail_sources.create_source(
        session,
        BOX,
        kind="smtp",
        name="Receiver",
        config={"accepted_recipients": ["*"]},
        secret=None,
        actor="t",
    )
    with pytest.raises(SourceInvalid) as refused:
        mail_sources.update_source(
            session,
            BOX,
            source.id,
            name="uploads",
            config={"accepted_recipients": ["nobody"], "port": -1},
            actor="t",
        )
    assert [p.field for p in refused.value.problems] == ["name", "port", "accepted_recipients"]
    assert source.name == "Receiver" and source.config == {"accepted_recipients": ["*"]}
