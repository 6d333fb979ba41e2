"""Shared fixtures: a database URL per backend (SQLite always, PostgreSQL when configured)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import pg


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests never read the developer's .env or real credentials."""
    for name in list(os.environ):
        if name.startswith(("EXITBOT_", "SLACK_", "Microsoft")) and name != pg.ENV:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database on each backend: SQLite file and (when configured) PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'exitbot.db'}"
        return
    if pg.admin_url() is None:
        pytest.skip(f"PostgreSQL tests need {pg.ENV} (.ci/run sets it)")
    url = pg.create_database()
    try:
        yield url
    finally:
        pg.drop_database(url)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'exitbot.db'}"
