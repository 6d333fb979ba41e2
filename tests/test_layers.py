"""The layers stay honest: conversations is pure, adapters never reach into bot/."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def imported_modules(package: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in (ROOT / package).rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = names
    return found


def test_conversations_uses_only_the_standard_library() -> None:
    allowed = set(sys.stdlib_module_names) | {"conversations", "__future__"}
    offenders = {
        path: sorted(names - allowed)
        for path, names in imported_modules("conversations").items()
        if names - allowed
    }
    assert offenders == {}


@pytest.mark.parametrize("forbidden", ["bot"])
def test_adapters_never_import_bot(forbidden: str) -> None:
    offenders = [path for path, names in imported_modules("adapters").items() if forbidden in names]
    assert offenders == []


def test_only_the_teams_adapter_imports_botbuilder() -> None:
    users = sorted(
        path
        for package in ("adapters", "bot", "conversations")
        for path, names in imported_modules(package).items()
        if {"botbuilder", "botframework"} & names
    )
    assert users in ([], ["adapters/teams.py"])


def test_conversations_does_no_io() -> None:
    io_modules = {"socket", "sqlite3", "asyncio", "logging", "subprocess", "urllib", "http"}
    offenders = {
        path: sorted(names & io_modules)
        for path, names in imported_modules("conversations").items()
        if names & io_modules
    }
    assert offenders == {}
