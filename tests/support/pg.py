"""Throw-away PostgreSQL databases for tests (from EXITBOT_TEST_POSTGRES_URL)."""

from __future__ import annotations

import os
import uuid

import psycopg
from sqlalchemy.engine import make_url

ENV = "EXITBOT_TEST_POSTGRES_URL"


def admin_url() -> str | None:
    return os.environ.get(ENV) or None


def _conninfo(url: str, database: str | None = None) -> str:
    u = make_url(url)
    if database:
        u = u.set(database=database)
    return u.set(drivername="postgresql").render_as_string(hide_password=False)


def create_database(prefix: str = "exitbot_t") -> str:
    """Create an empty database and return its SQLAlchemy URL."""
    base = admin_url()
    if base is None:
        raise RuntimeError(f"{ENV} is not set")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_conninfo(base), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return make_url(base).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    base = admin_url()
    if base is None:
        return
    name = make_url(url).database
    with psycopg.connect(_conninfo(base), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
