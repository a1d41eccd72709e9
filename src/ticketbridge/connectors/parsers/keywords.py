"""Localised keyword tables (English, German, Dutch, French) for statuses and field labels.

Products localise subjects and bodies to the server's language, so parsers look words up here
instead of carrying inline literals. Status words are checked worst first (failed, error,
warning, then success) after negated phrases ("0 errors", "ohne Fehler") have been removed,
because a success mail often says how many errors it did *not* have.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ticketbridge.core.statuses import RunStatus

# Per language, per status: word patterns (regex fragments, matched case-insensitively on word
# boundaries). "failed" is reserved for runs that were aborted or cancelled; a run that ended
# with errors is "error".
STATUS_WORDS: dict[str, dict[RunStatus, tuple[str, ...]]] = {
    "en": {
        RunStatus.FAILED: (r"aborted", r"cancell?ed", r"fatal", r"did not (?:run|start)"),
        RunStatus.ERROR: (
            r"fail(?:ed|ure|ures|s)?",
            r"errors?",
            r"not successful(?:ly)?",
            r"unsuccessful",
        ),
        RunStatus.WARNING: (
            r"warnings?",
            r"completed with exceptions",
            r"partially (?:completed|successful)",
        ),
        RunStatus.SUCCESS: (
            r"success(?:ful(?:ly)?)?",
            r"succeeded",
            r"completed",
            r"finished",
        ),
    },
    "de": {
        RunStatus.FAILED: (r"abgebrochen", r"nicht ausgeführt"),
        RunStatus.ERROR: (
            r"fehlgeschlagen",
            r"fehler(?:haft)?",
            r"nicht erfolgreich",
            r"misslungen",
        ),
        RunStatus.WARNING: (r"warnung(?:en)?", r"mit warnungen", r"teilweise erfolgreich"),
        RunStatus.SUCCESS: (r"erfolgreich", r"abgeschlossen", r"beendet"),
    },
    "nl": {
        RunStatus.FAILED: (r"afgebroken", r"geannuleerd"),
        RunStatus.ERROR: (r"mislukt", r"fout(?:en)?", r"niet geslaagd", r"niet gelukt"),
        RunStatus.WARNING: (r"waarschuwing(?:en)?", r"gedeeltelijk geslaagd"),
        RunStatus.SUCCESS: (r"geslaagd", r"gelukt", r"voltooid", r"succesvol", r"met succes"),
    },
    "fr": {
        RunStatus.FAILED: (r"annulée?", r"abandonnée?", r"interrompue?"),
        RunStatus.ERROR: (
            r"échec",
            r"échouée?",
            r"a échoué",
            r"erreurs?",
            r"non réussie?",
            r"pas réussie?",
        ),
        RunStatus.WARNING: (r"avertissements?", r"partiellement réussie?"),
        RunStatus.SUCCESS: (r"réussie?", r"succès", r"terminée?"),
    },
}

# Phrases that mention a bad word but say it did not happen.
_NEGATED = re.compile(
    r"(?:\b(?:0|no|zero|without|keine|ohne|geen|zonder|aucune?|sans|pas d')\s*"
    r"(?:errors?|warnings?|failures?|fehlern?|warnungen|fouten|waarschuwingen|erreurs?|"
    r"avertissements?|échecs?)\b)"
    r"|(?:\b(?:errors?|warnings?|failed|failures?|fehler|warnungen|fouten|waarschuwingen|"
    r"erreurs?|avertissements?)\s*[:=]\s*0\b(?![.,]\d))"
    r"|(?:\bfailed\s+(?:items?|files?|objects?)?\s*[:=]?\s*0\b)",
    re.IGNORECASE,
)

_ORDER = (RunStatus.FAILED, RunStatus.ERROR, RunStatus.WARNING, RunStatus.SUCCESS)


def _compile(order_statuses: Iterable[RunStatus]) -> list[tuple[RunStatus, re.Pattern[str]]]:
    compiled = []
    for status in order_statuses:
        words = [w for table in STATUS_WORDS.values() for w in table.get(status, ())]
        compiled.append((status, re.compile(r"(?<!\w)(?:" + "|".join(words) + r")(?!\w)", re.I)))
    return compiled


_STATUS_PATTERNS = _compile(_ORDER)


def strip_negations(text: str) -> str:
    return _NEGATED.sub(" ", text)


def classify(text: str) -> tuple[RunStatus, str] | None:
    """The worst status word in ``text`` and the word itself, or None when there is none."""
    cleaned = strip_negations(text)
    for status, pattern in _STATUS_PATTERNS:
        found = pattern.search(cleaned)
        if found:
            return status, found.group(0)
    return None


def status_word(word: str) -> RunStatus | None:
    """The status of a single status word ('Success', 'Warnung', 'Mislukt', 'Échec')."""
    found = classify(word.strip())
    return None if found is None else found[0]


# Field labels as products print them, per language; parsers build their regexes from these.
LABELS: dict[str, tuple[str, ...]] = {
    "start": (
        "Start time",
        "Started",
        "Startzeit",
        "Beginn",
        "Starttijd",
        "Heure de début",
        "Début",
    ),
    "end": ("End time", "Ended", "Endzeit", "Ende", "Eindtijd", "Heure de fin", "Fin"),
    "duration": ("Duration", "Dauer", "Backup-Dauer", "Duur", "Durée"),
    "task": ("Task", "Backup task", "Aufgabe", "Sicherungsaufgabe", "Taak", "Back-uptaak", "Tâche"),
    "device": ("Device", "Computer", "Gerät", "Apparaat", "Appareil"),
    "host": ("Host", "Hostname", "Server", "Computer Name", "Rechner", "Serveur"),
}


def label_pattern(key: str) -> str:
    """A regex alternation of the labels for ``key``, longest first (so 'Backup task' wins)."""
    labels = sorted(LABELS[key], key=len, reverse=True)
    return "(?:" + "|".join(re.escape(label) for label in labels) + ")"
