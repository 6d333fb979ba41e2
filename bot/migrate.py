"""Schema migrations (Alembic), run once even when several replicas start together."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from bot.db import MIGRATION_LOCK_ID, Database

log = logging.getLogger(__name__)
SCRIPTS = Path(__file__).with_name("migrations")


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(SCRIPTS))
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def upgrade(db: Database) -> str | None:
    """Bring the schema to the newest revision; returns the revision now in place.

    On PostgreSQL a session advisory lock serialises concurrent upgrades; on SQLite the
    migration runs inside BEGIN IMMEDIATE, which does the same for processes sharing the file.
    """
    engine = db.sync_engine()
    cfg = alembic_config()
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK_ID})
                conn.commit()
            try:
                current = MigrationContext.configure(conn).get_current_revision()
                head = head_revision()
                if current != head:
                    log.info("migrating database schema from %s to %s", current, head)
                    cfg.attributes["connection"] = conn
                    command.upgrade(cfg, "head")
                    conn.commit()
                return head
            finally:
                if conn.dialect.name == "postgresql":
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK_ID})
                    conn.commit()
    finally:
        engine.dispose()


def current_revision(db: Database) -> str | None:
    engine = db.sync_engine()
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()
