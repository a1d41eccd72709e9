"""Customer to company mapping rules (design §2, §3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ticketbridge.core.mapping_status import (
    INVALID_DELETED,
    INVALID_INACCESSIBLE,
    INVALID_INACTIVE,
    UNMAPPED,
    Company,
    CompanyRead,
    MappingStatus,
    acknowledge_rename,
    creation_blocker,
    map_to,
    normalise_name,
    refresh,
    suggest_mappings,
)

T0 = datetime(2026, 1, 13, 3, 0, tzinfo=UTC)
T1 = T0 + timedelta(days=1)


def test_3_1_explicit_mapping_stores_id_name_and_sync_time() -> None:
    mapping = map_to(Company(500, "Acme Corp"), T0)
    assert (mapping.company_id, mapping.cached_name, mapping.status) == (
        500,
        "Acme Corp",
        MappingStatus.OK,
    )
    assert mapping.last_sync == T0


def test_3_1_unmapped_customer_is_missing_and_blocks_creation() -> None:
    assert UNMAPPED.status is MappingStatus.MISSING
    assert "not mapped" in (creation_blocker(UNMAPPED, "Acme") or "")
    assert "not mapped" in (creation_blocker(None, "Acme") or "")


def test_3_2_rename_updates_cached_name_and_keeps_the_mapping() -> None:
    mapping = refresh(map_to(Company(500, "Acme Corp"), T0), Company(500, "Acme Group"), T1)
    assert mapping.status is MappingStatus.RENAMED
    assert (mapping.company_id, mapping.cached_name, mapping.previous_name) == (
        500,
        "Acme Group",
        "Acme Corp",
    )
    assert mapping.last_sync == T1
    assert creation_blocker(mapping, "Acme") is None


def test_3_2_rename_stays_flagged_until_acknowledged() -> None:
    renamed = refresh(map_to(Company(500, "Acme Corp"), T0), Company(500, "Acme Group"), T1)
    still = refresh(renamed, Company(500, "Acme Group"), T1 + timedelta(days=1))
    assert still.status is MappingStatus.RENAMED and still.previous_name == "Acme Corp"
    acknowledged = acknowledge_rename(still)
    assert acknowledged.status is MappingStatus.OK and acknowledged.previous_name is None
    assert refresh(acknowledged, Company(500, "Acme Group"), T1).status is MappingStatus.OK


def test_3_2_second_rename_keeps_the_name_the_operator_knew() -> None:
    once = refresh(map_to(Company(500, "A"), T0), Company(500, "B"), T1)
    twice = refresh(once, Company(500, "C"), T1)
    assert (twice.previous_name, twice.cached_name) == ("A", "C")
    back = refresh(twice, Company(500, "A"), T1)
    assert back.status is MappingStatus.OK and back.previous_name is None


@pytest.mark.parametrize(
    ("read", "reason"),
    [
        (CompanyRead.NOT_FOUND, INVALID_DELETED),
        (CompanyRead.INACCESSIBLE, INVALID_INACCESSIBLE),
        (Company(500, "Acme Corp", active=False), INVALID_INACTIVE),
    ],
)
def test_3_3_deleted_inactive_or_inaccessible_company_makes_mapping_invalid(
    read: Company | CompanyRead, reason: str
) -> None:
    mapping = refresh(map_to(Company(500, "Acme Corp"), T0), read, T1)
    assert mapping.status is MappingStatus.INVALID
    assert mapping.invalid_reason == reason
    assert mapping.company_id == 500
    blocker = creation_blocker(mapping, "Acme")
    assert blocker is not None and reason in blocker


def test_3_3_invalid_mapping_recovers_when_the_company_is_back() -> None:
    invalid = refresh(map_to(Company(500, "Acme"), T0), CompanyRead.INACCESSIBLE, T1)
    mapping = refresh(invalid, Company(500, "Acme"), T1)
    assert mapping.status is MappingStatus.OK and mapping.invalid_reason is None


def test_2_ids_are_leading_a_read_of_another_company_is_refused() -> None:
    with pytest.raises(ValueError):
        refresh(map_to(Company(500, "Acme"), T0), Company(501, "Acme"), T1)


@pytest.mark.parametrize(
    ("name", "normalised"),
    [
        ("Acme Inc.", "acme"),
        ("ACME, LLC", "acme"),
        ("Acme Ltd", "acme"),
        ("Acme GmbH & Co. KG", "acme"),
        ("Acme B.V.", "acme"),
        ("Acme BV", "acme"),
        ("Smith & Jones LLP", "smith and jones"),
        ("  Müller   Bau  GmbH ", "muller bau"),
        ("LLC", "llc"),
        ("Co-Op Foods Ltd", "co op foods"),
    ],
)
def test_3_1_names_are_normalised_for_suggestions(name: str, normalised: str) -> None:
    assert normalise_name(name) == normalised


def test_3_1_suggestions_match_normalised_names_among_active_unmapped_companies() -> None:
    companies = [
        Company(1, "Acme B.V."),
        Company(2, "ACME BV", active=False),
        Company(3, "Globex LLC"),
        Company(4, "Initech Inc"),
    ]
    proposals = suggest_mappings(
        {10: "Acme", 11: "Globex, Inc.", 12: "Initech", 13: "Umbrella"},
        companies,
        taken_company_ids=[4],
    )
    assert {k: [s.company_id for s in v] for k, v in proposals.items()} == {10: [1], 11: [3]}


def test_3_1_suggestions_are_only_proposals() -> None:
    proposals = suggest_mappings({10: "Acme"}, [Company(1, "Acme Inc")])
    suggestion = proposals[10][0]
    assert (suggestion.customer_id, suggestion.company_id) == (10, 1)
    assert "normalisation" in suggestion.reason
