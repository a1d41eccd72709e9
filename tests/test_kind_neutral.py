"""Issue 12's rule, held: nothing outside a kind's connector and emulator decides by a kind's
name. Adding a kind must not mean finding the places that compare with "autotask" or "jira";
a capability in the registry says what a kind does instead."""

from __future__ import annotations

import re
from pathlib import Path

import ticketbridge
from ticketbridge.connectors import registry

PACKAGE = Path(ticketbridge.__file__).parent
NEUTRAL = ("cli", "core", "services", "web", "worker")
KINDS = "|".join(sorted(registry.PSA_CONNECTORS))
COMPARED = re.compile(
    rf"""(==|!=|\bis\b|\bin\s*[(\[{{])\s*["']({KINDS})["']|["']({KINDS})["']\s*(==|!=)"""
)


def test_no_module_outside_the_connectors_compares_a_kind_by_name() -> None:
    found = [
        f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}"
        for folder in NEUTRAL
        for path in sorted((PACKAGE / folder).rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if COMPARED.search(line)
    ]
    assert found == []


def test_the_check_sees_a_comparison_by_name() -> None:
    assert COMPARED.search('    elif connection.kind == "autotask" and x:')
    assert COMPARED.search("if 'jira' != kind:")
    assert not COMPARED.search('registry.capability("autotask", "cache")')
