"""Names people give things (customers, jobs, mail sources): one key for uniqueness, one rule
for what a name may hold. Pure functions, no I/O.

Two names are the same name when their keys are equal. The key is NFKC (full-width letters,
ligatures and compatibility forms become their plain letters), then case folding ('ÖKO' and 'öko',
'STRASSE' and 'straße'), then NFKC again (folding can leave an unnormalised sequence), with runs of
whitespace collapsed to one space and the ends trimmed. It is computed here and stored next to
the name, so SQLite and PostgreSQL compare the same strings: neither database's ``lower()``
folds case the way Unicode does, and they do not agree with each other either.

A name is refused when it holds characters that do not show, or that change how the text around
them shows: 'Acme\\u202eLogistics\\u200b' displays like 'Acme Logistics' reversed in part, and a
name that looks like another one is how a report lands at the wrong customer.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Iterable

# Text-direction controls (Unicode's bidi embeddings, overrides and isolates, the implicit marks
# and the Arabic letter mark). Most are category Cf and refused with it; they are named here so
# the message can say what was found.
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)

_REFUSED = {
    "Cc": "a control character",  # NUL, tab, line feed, escape, DEL, C1 controls
    "Cf": "an invisible formatting character",  # zero-width space and joiners, BOM, soft hyphen
    "Cs": "an unpaired surrogate",  # cannot be stored as UTF-8 at all
    "Zl": "a line separator",
    "Zp": "a paragraph separator",
}


def normalise(name: str) -> str:
    """The key two names are compared by (see the module docstring)."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())
    return " ".join(folded.split())


def problem(name: str, *, key_length: int | None = None) -> str | None:
    """Why ``name`` cannot be a name, or None when it can. Says which character and where;
    with ``key_length``, also refuses a name whose key would be longer (compatibility characters
    can expand: one ligature may become several letters)."""
    for position, char in enumerate(name, start=1):
        if char in BIDI_CONTROLS:
            found = "a text-direction control character"
        else:
            found = _REFUSED.get(unicodedata.category(char), "")
            if not found:
                continue
        return (
            f"names may not contain control, text-direction or invisible characters: "
            f"{found} (U+{ord(char):04X}) is at position {position}"
        )
    if key_length is not None and len(normalise(name)) > key_length:
        return f"the name is too long once normalised (over {key_length} characters)"
    return None


# How alike two keys must be (difflib's ratio) to be named as a close match: "Acme Logistcs"
# and "Acme Logistics" score 0.96, "Brightwater" and "Brightwater Dental" 0.76, "Acme" and
# "Acme Logistics" 0.44.
CLOSE_MATCH_CUTOFF = 0.75


def close_matches(name: str, candidates: Iterable[str], limit: int = 3) -> list[str]:
    """The candidates whose keys look most like ``name``'s key, best first: what a refused
    unknown name was probably meant to be. A simple similarity (difflib's ratio on the keys),
    so "Acme Logistcs" finds "Acme Logistics" and a name of another customer is not offered."""
    by_key: dict[str, str] = {}
    for candidate in candidates:
        by_key.setdefault(normalise(candidate), candidate)
    keys = difflib.get_close_matches(normalise(name), by_key, n=limit, cutoff=CLOSE_MATCH_CUTOFF)
    return [by_key[key] for key in keys]
