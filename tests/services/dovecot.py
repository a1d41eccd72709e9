"""The Dovecot fixture of the IMAP connector tests, shared with the intake tests.

tests/connectors/mail/ is not a package (its conftest is found by pytest by path), so the module
is loaded by path here; a test module re-exports `dovecot` to use it.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

_PATH = Path(__file__).resolve().parents[1] / "connectors" / "mail" / "conftest.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("tests_mail_dovecot", _PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


_module = _load()
dovecot = _module.dovecot
DovecotServer = _module.DovecotServer
