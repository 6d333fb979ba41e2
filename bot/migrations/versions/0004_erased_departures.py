"""erased departures

A departure erased on request (`exitbot forget`) leaves a tombstone, a SHA-256 of the HR
system's departure id, so that the HR system's later events about it re-create and invite
nobody.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 23:25:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "erased_departures",
        sa.Column("ref_hash", sa.String(length=64), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("ref_hash"),
    )
    with op.batch_alter_table("erased_departures", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_erased_departures_erased_at"), ["erased_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("erased_departures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_erased_departures_erased_at"))
    op.drop_table("erased_departures")
