"""Key rotation: re-encrypt every encrypted column with the newest key."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select, update

from bot.crypto import Cipher
from bot.db import Database
from bot.models import AnswerRow, InboundMessage, Interview

ENCRYPTED = (
    (AnswerRow, "id", "text_enc"),
    (Interview, "id", "state_enc"),
    (InboundMessage, "key", "payload_enc"),
    (InboundMessage, "key", "reply_enc"),
)


def new_key() -> str:
    return Cipher.new_key()


def _rotate_one(
    conn: Connection,
    model: Any,
    key_col: Any,
    column: Any,
    key: object,
    token: str | None,
    cipher: Cipher,
) -> None:
    """Replace `token` with its re-encryption, only if it is still the stored value: a turn a
    running server stored since it was read (PostgreSQL does not hold the rows read) is newer,
    and overwriting it put the interview back a step. That newer value is re-encrypted instead."""
    while token is not None:
        done = conn.execute(
            update(model)
            .where(key_col == key, column == token)
            .values({column.key: cipher.rotate(token)})
        )
        if done.rowcount:
            return
        token = conn.execute(select(column).where(key_col == key)).scalar()


def rotate(db: Database, cipher: Cipher, batch: int = 500) -> int:
    """Re-encrypt in batches, each its own transaction; safe to run again after a stop."""
    engine = db.sync_engine()
    count = 0
    try:
        for model, key_name, column_name in ENCRYPTED:
            key_col = getattr(model, key_name)
            column = getattr(model, column_name)
            last = None
            while True:
                with engine.begin() as conn:
                    query = select(key_col, column).where(column.is_not(None)).order_by(key_col)
                    if last is not None:
                        query = query.where(key_col > last)
                    rows = conn.execute(query.limit(batch)).all()
                    for key, token in rows:
                        _rotate_one(conn, model, key_col, column, key, token, cipher)
                    count += len(rows)
                if len(rows) < batch:
                    break
                last = rows[-1][0]
    finally:
        engine.dispose()
    return count
