from __future__ import annotations

import threading

from sqlalchemy import inspect

from bot import migrate
from bot.db import Database


def test_upgrade_creates_schema_and_is_idempotent(database_url: str) -> None:
    db = Database(database_url)
    head = migrate.head_revision()
    assert migrate.upgrade(db) == head
    assert migrate.upgrade(db) == head
    assert migrate.current_revision(db) == head
    engine = db.sync_engine()
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"employees", "departures", "interviews", "answers", "jobs", "inbound_messages"} <= (
        tables
    )


def test_concurrent_upgrades_run_once(database_url: str) -> None:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            migrate.upgrade(Database(database_url))
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert migrate.current_revision(Database(database_url)) == migrate.head_revision()


def test_the_migrations_build_what_the_models_say(database_url: str) -> None:
    """A column changed in bot/models.py without a migration (or the reverse) differs between
    a new install's tables and an upgraded one's: the webhook id was accepted up to 256
    characters and the column held 200, a 503 for ever on PostgreSQL only."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from bot.models import Base

    db = Database(database_url)
    migrate.upgrade(db)
    engine = db.sync_engine()
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert differences == []
