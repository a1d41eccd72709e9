"""Subjects: reply and forward prefixes, and ticket keys in them. Pure; no I/O.

Ticket-key patterns are regular expressions an admin may configure (a Jira key in brackets, an
Autotask ticket number). Python's ``re`` has no time limit, and a pattern such as ``(a+)+`` or
``.*.*.*x`` takes exponential or high polynomial time on a subject built against it. So a
pattern is accepted only when `pattern_errors` finds nothing: at most `MAX_PATTERN_LENGTH`
characters, at most one capture group, no repeated group (``(..)*``, ``(..)+``, ``(..){n}``),
and at most `MAX_WAYS` ways to try its repeats from one position (``*`` and ``+`` count as
`MAX_SCANNED_SUBJECT` ways, ``{0,9}`` as ten, ``?`` as two, ``{4}`` as one). Subjects are cut
to `MAX_SCANNED_SUBJECT` characters before a pattern runs, which bounds the work per subject.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

MAX_PATTERN_LENGTH = 200
MAX_SCANNED_SUBJECT = 300
MAX_WAYS = 100_000
NO_SUBJECT = "(no subject)"

# Reply prefixes in the languages our customers' mail clients write: Re, AW (German), SV
# (Scandinavian), Antw (Dutch), RIF/R (Italian), RES (Portuguese), Odp (Polish), YNT (Turkish).
_REPLY_WORDS = r"re|aw|sv|antw|antwort|rif|r|res|odp|ynt|vs"
# Forward prefixes: Fw/Fwd, WG (German), TR (French), Doorst (Dutch), ENC (Portuguese),
# RV (Spanish), PD (Polish), VB (Swedish), VL (Finnish).
_FORWARD_WORDS = r"fw|fwd|wg|tr|doorst|enc|rv|pd|vb|vl"
# "Re:", "RE :", "Re[2]:", "Re(2):", "AW:" and the full-width colon of CJK mail clients.
_PREFIX = re.compile(
    rf"^\s*(?:(?P<word>{_REPLY_WORDS}|{_FORWARD_WORDS})\s*(?:\[\d+\]|\(\d+\))?\s*[:：])\s*",
    re.IGNORECASE,
)
_FORWARD = re.compile(rf"^(?:{_FORWARD_WORDS})$", re.IGNORECASE)
_COUNT = re.compile(r"\{(?=,?\d)(\d*)(,?)(\d*)\}")


@dataclass(frozen=True)
class KeyPattern:
    """A ticket key in a subject: ``regex`` (its one group, or the whole match, is the key)."""

    name: str
    regex: str


# A Jira issue key in brackets, as our notifications write it: "[SUP-123]". Bare keys are not
# taken: "ISO-9001" or "COVID-19" in a subject would be read as tickets.
JIRA_KEY = KeyPattern("jira", r"\[([A-Z][A-Z0-9_]{0,49}-[1-9][0-9]{0,9})\]")
# An Autotask ticket number: T, the creation date, a dot, a sequence ("T20240101.0001").
AUTOTASK_NUMBER = KeyPattern("autotask", r"\b(T[0-9]{8}\.[0-9]{4})\b")
DEFAULT_KEY_PATTERNS: tuple[KeyPattern, ...] = (JIRA_KEY, AUTOTASK_NUMBER)


def pattern_errors(regex: str) -> list[str]:
    """What is wrong with a ticket-key pattern; empty when it may be used."""
    if not regex.strip():
        return ["A pattern is required."]
    if len(regex) > MAX_PATTERN_LENGTH:
        return [f"A pattern has at most {MAX_PATTERN_LENGTH} characters."]
    try:
        compiled = re.compile(regex)
    except re.error as exc:
        return [f"Not a regular expression: {exc.msg}."]
    errors = []
    if compiled.groups > 1:
        errors.append("Use at most one capture group: it marks the key.")
    ways = _ways(regex)
    if ways is None:
        errors.append("A group may not be repeated, as in (ab)+: such a pattern can hang.")
    elif ways > MAX_WAYS:
        errors.append("Too many open repeats (*, + or wide {m,n}): such a pattern can hang.")
    return errors


def _ways(regex: str) -> int | None:
    """How many ways the pattern's repeats can be tried from one position (the product of each
    repeat's choices), or None when a group is repeated. Escapes and [classes] are atoms."""
    ways, index, previous = 1, 0, ""
    while index < len(regex) and ways <= MAX_WAYS:
        char = regex[index]
        count = _COUNT.match(regex, index) if char == "{" else None
        if char == "\\":
            index, previous = index + 2, "atom"
            continue
        if char == "[":
            index, previous = _class_end(regex, index), "atom"
            continue
        if char in "*+" or count is not None:
            if previous == "quantifier":  # *+ (possessive) after a repeat adds no choices
                index += 1
                continue
            if previous == ")":
                return None
            choices = MAX_SCANNED_SUBJECT if char in "*+" else _count_choices(count)
            ways, previous = ways * choices, "quantifier"
            index = count.end() if count is not None else index + 1
            continue
        if char == "?" and previous not in ("(", "quantifier"):
            ways, previous = ways * 2, "quantifier"
        elif char != "?":
            previous = char if char in "()" else "atom"
        index += 1
    return ways


def _count_choices(count: re.Match[str] | None) -> int:
    assert count is not None
    low_text, comma, high_text = count.groups()
    low = int(low_text or 0)
    if not comma:
        return 1
    if not high_text:
        return MAX_SCANNED_SUBJECT
    return max(1, int(high_text) - low + 1)


def _class_end(regex: str, start: int) -> int:
    index = start + 1
    if regex[index : index + 1] == "^":
        index += 1
    if regex[index : index + 1] == "]":
        index += 1
    while index < len(regex) and regex[index] != "]":
        index += 2 if regex[index] == "\\" else 1
    return index + 1


def find_ticket_keys(subject: str, patterns: Sequence[KeyPattern]) -> tuple[str, ...]:
    """The ticket keys in ``subject``, in the order they appear, upper case, once each.
    A pattern `pattern_errors` refuses is skipped, so a bad setting never hangs intake."""
    scanned = subject[:MAX_SCANNED_SUBJECT]
    found: list[tuple[int, str]] = []
    for pattern in patterns:
        compiled = _compiled(pattern)
        if compiled is None:
            continue
        for match in compiled.finditer(scanned):
            key = (match.group(1) if compiled.groups else match.group(0)).upper()
            found.append((match.start(), key))
    keys: list[str] = []
    for _start, key in sorted(found):
        if key not in keys:
            keys.append(key)
    return tuple(keys)


def _compiled(pattern: KeyPattern) -> re.Pattern[str] | None:
    if pattern_errors(pattern.regex):
        return None
    return re.compile(pattern.regex, re.IGNORECASE)


def strip_prefixes(subject: str) -> tuple[str, bool]:
    """The subject without its leading reply and forward prefixes, however many and however
    mixed ("Re: AW: Fwd: RE[2]: x" -> "x"), and whether one of them was a forward."""
    text = " ".join(subject.split())
    forwarded = False
    while True:
        match = _PREFIX.match(text)
        if match is None:
            return text, forwarded
        forwarded = forwarded or bool(_FORWARD.match(match.group("word")))
        text = text[match.end() :]


def normalise_subject(subject: str, key_patterns: Sequence[KeyPattern] = ()) -> str:
    """The subject as a ticket's title or a conversation's name: prefixes removed, white space
    collapsed, and ticket keys matched by ``key_patterns`` removed where they lead the subject
    or follow a prefix ("Re: [SUP-1] AW: Printer" -> "Printer"). May be ''."""
    text, _forwarded = strip_prefixes(subject)
    compiled = [c for c in map(_compiled, key_patterns) if c is not None]
    while compiled:
        for pattern in compiled:
            match = pattern.match(text)
            if match is not None and match.end() > 0:
                text, _forwarded = strip_prefixes(text[match.end() :])
                break
        else:
            break
    return text


def is_forward(subject: str) -> bool:
    """True when the subject's prefixes include a forward ("Fwd:", "WG:", "TR: Re: x")."""
    return strip_prefixes(subject)[1]
