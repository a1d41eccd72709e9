"""Customers and mail sources clash by normalised name in the services, on both databases, and
a clash the look-up missed (a concurrent writer) is still a clear refusal, never a 500."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from ticketbridge.services.mail import sources as mail_sources
from ticketbridge.services.mail.sources import SourceError
from ticketbridge.services.runs import catalog
from ticketbridge.services.runs.catalog import CatalogError
from ticketbridge.storage.models import Customer, MailSource
from ticketbridge.storage.secrets import SecretBox

BOX = SecretBox("k" * 40)


def test_a_customer_named_like_another_after_normalising_is_refused(
    session: Session,
) -> None:
    catalog.create_customer(session, "ÖKO Bau", actor="t")
    for same in ("öko bau", "ÖKO BAU", "Öko\u00a0Bau"):
        with pytest.raises(CatalogError, match="exists already") as refused:
            catalog.create_customer(session, same, actor="t")
        assert refused.value.field == "name"


def test_a_clash_the_look_up_missed_is_refused_at_the_write(
    db: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """As if a concurrent request stored the name between our look-up and our write."""
    with db() as session:
        catalog.create_customer(session, "Acme Logistics", actor="t")
        session.commit()
    monkeypatch.setattr(catalog, "_check_name", lambda _s, name, own_id=None: name.strip())
    with db() as session:
        with pytest.raises(CatalogError, match="exists already"):
            catalog.create_customer(session, "ACME LOGISTICS", actor="t")
        other = catalog.create_customer(session, "Other", actor="t")  # the session still works
        with pytest.raises(CatalogError):
            catalog.update_customer(session, other.id, actor="t", name="acme logistics")
        assert other.name == "Other"
        session.commit()
    with db() as session:
        assert session.scalar(select(func.count(Customer.id))) == 2


def test_a_customer_name_with_a_zero_width_space_is_refused(session: Session) -> None:
    with pytest.raises(CatalogError, match="U\\+200B"):
        catalog.create_customer(session, "Acme\u200bLogistics", actor="t")


def test_mail_source_names_clash_by_key_and_refuse_invisible_characters(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    def create(name: str) -> MailSource:
        return mail_sources.create_source(
            session, BOX, kind="upload", name=name, config={}, secret=None, actor="t"
        )

    create("Uploads")
    with pytest.raises(SourceError, match="exists already"):
        create("ＵＰＬＯＡＤＳ")
    with pytest.raises(SourceError, match="U\\+202E"):
        create("Up\u202eloads")
    monkeypatch.setattr(mail_sources, "_check_name", lambda _s, name, own_id=None: name)
    with pytest.raises(SourceError, match="exists already"):
        create("uploads")
