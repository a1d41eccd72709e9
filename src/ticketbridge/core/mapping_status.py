"""Customer to Autotask company mapping: its status and name suggestions (design §2 and §3).

The company ID is leading; the name is a cached display value that follows Autotask. A rename
never breaks a mapping; a deleted, deactivated or inaccessible company makes it invalid and
blocks ticket creation with that reason. Suggestions for unmapped customers are proposals only:
nothing here maps a customer on its own.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum


class MappingStatus(StrEnum):
    OK = "ok"
    RENAMED = "renamed"
    INVALID = "invalid"
    MISSING = "missing"


class CompanyRead(StrEnum):
    """What a lookup of the mapped company by ID found, when it found no company."""

    NOT_FOUND = "not_found"
    INACCESSIBLE = "inaccessible"


INVALID_DELETED = "The Autotask company no longer exists (deleted)."
INVALID_INACTIVE = "The Autotask company is deactivated."
INVALID_INACCESSIBLE = "The Autotask company is not accessible with the API user's permissions."


@dataclass(frozen=True)
class Company:
    """An Autotask company as read from Autotask."""

    id: int
    name: str
    active: bool = True


@dataclass(frozen=True)
class CompanyMapping:
    company_id: int | None = None
    cached_name: str | None = None
    status: MappingStatus = MappingStatus.MISSING
    # The name the operator last acknowledged, kept while the status is renamed.
    previous_name: str | None = None
    invalid_reason: str | None = None
    last_sync: datetime | None = None

    @property
    def is_mapped(self) -> bool:
        return self.company_id is not None


UNMAPPED = CompanyMapping()


def map_to(company: Company, now: datetime) -> CompanyMapping:
    """An explicit mapping chosen by an operator (or a confirmed suggestion)."""
    return refresh(CompanyMapping(company_id=company.id, cached_name=company.name), company, now)


def refresh(mapping: CompanyMapping, read: Company | CompanyRead, now: datetime) -> CompanyMapping:
    """The mapping after validating it against what Autotask returned for its company ID."""
    if mapping.company_id is None:
        return UNMAPPED
    if isinstance(read, CompanyRead):
        reason = INVALID_DELETED if read is CompanyRead.NOT_FOUND else INVALID_INACCESSIBLE
        return replace(mapping, status=MappingStatus.INVALID, invalid_reason=reason, last_sync=now)
    if read.id != mapping.company_id:
        raise ValueError(f"company {read.id} read for a mapping to {mapping.company_id}")
    if not read.active:
        # The name still follows, so the screen shows what the company is called now.
        return replace(
            mapping,
            cached_name=read.name,
            status=MappingStatus.INVALID,
            invalid_reason=INVALID_INACTIVE,
            last_sync=now,
        )
    known_name = _acknowledged_name(mapping)
    if known_name is None or read.name == known_name:
        status, previous = MappingStatus.OK, None
    else:
        status, previous = MappingStatus.RENAMED, known_name
    return replace(
        mapping,
        cached_name=read.name,
        status=status,
        previous_name=previous,
        invalid_reason=None,
        last_sync=now,
    )


def _acknowledged_name(mapping: CompanyMapping) -> str | None:
    # While a rename is unacknowledged the old name shown is the one the operator knew, even if
    # the company was renamed again since; renaming it back to that name clears the flag.
    if mapping.status is MappingStatus.RENAMED and mapping.previous_name is not None:
        return mapping.previous_name
    return mapping.cached_name


def acknowledge_rename(mapping: CompanyMapping) -> CompanyMapping:
    if mapping.status is not MappingStatus.RENAMED:
        return mapping
    return replace(mapping, status=MappingStatus.OK, previous_name=None)


def unmap() -> CompanyMapping:
    return UNMAPPED


def creation_blocker(mapping: CompanyMapping | None, customer_name: str) -> str | None:
    """Why a ticket cannot be created for this customer, or None. A rename does not block."""
    if mapping is None or mapping.company_id is None or mapping.status is MappingStatus.MISSING:
        return f"Customer {customer_name!r} is not mapped to an Autotask company."
    if mapping.status is MappingStatus.INVALID:
        reason = mapping.invalid_reason or "The mapping is invalid."
        return f"The Autotask company mapping of {customer_name!r} is invalid: {reason}"
    return None


# Legal-form words that say nothing about which company is meant. Dots are removed before
# matching, so "B.V." and "Inc." arrive here as "bv" and "inc".
LEGAL_SUFFIXES = frozenset(
    {
        "inc", "incorporated", "llc", "llp", "lp", "ltd", "limited", "plc", "corp",
        "corporation", "co", "company", "pty", "gmbh", "ag", "kg", "ug", "ohg", "ev",
        "bv", "nv", "vof", "cv", "bvba", "sa", "sas", "sarl", "srl", "spa", "ab", "as",
        "oy", "aps", "&",
    }
)  # fmt: skip
_PUNCTUATION = re.compile(r"[^\w&]+")


def normalise_name(name: str) -> str:
    """A company name reduced for comparison: case, accents, punctuation, whitespace and
    trailing legal forms removed ("Acme Holding B.V." -> "acme holding")."""
    decomposed = unicodedata.normalize("NFKD", name)
    text = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    text = text.replace(".", "").replace("&", " & ")
    words = _PUNCTUATION.sub(" ", text).replace("_", " ").split()
    stripped = list(words)
    while stripped and stripped[-1] in LEGAL_SUFFIXES:
        stripped.pop()
    # A company called just "LLC" keeps its name rather than becoming empty.
    words = stripped or words
    return " ".join("and" if word == "&" else word for word in words)


@dataclass(frozen=True)
class Suggestion:
    customer_id: int
    company_id: int
    company_name: str
    reason: str = "same name after normalisation"


def suggest_mappings(
    unmapped: Mapping[int, str],
    companies: Iterable[Company],
    taken_company_ids: Iterable[int] = (),
) -> dict[int, list[Suggestion]]:
    """Proposals per unmapped customer (id -> name): active companies with the same normalised
    name that no other customer is mapped to. Applying one takes an operator's confirmation."""
    taken = set(taken_company_ids)
    by_name: dict[str, list[Company]] = {}
    for company in companies:
        if company.active and company.id not in taken:
            by_name.setdefault(normalise_name(company.name), []).append(company)
    proposals: dict[int, list[Suggestion]] = {}
    for customer_id, customer_name in unmapped.items():
        key = normalise_name(customer_name)
        matches = by_name.get(key, []) if key else []
        if matches:
            proposals[customer_id] = [
                Suggestion(customer_id, c.id, c.name) for c in sorted(matches, key=lambda c: c.id)
            ]
    return proposals
