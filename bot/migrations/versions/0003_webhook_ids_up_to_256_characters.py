"""webhook ids up to 256 characters

The webhook accepts a `webhook-id` of up to 256 characters (docs/webhook-openapi.yaml); the
column held 200, so on PostgreSQL a longer one failed to insert, was answered 503 and retried
for ever.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 22:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_events", schema=None) as batch_op:
        batch_op.alter_column(
            "webhook_id",
            existing_type=sa.String(length=200),
            type_=sa.String(length=256),
            existing_nullable=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("webhook_events", schema=None) as batch_op:
        batch_op.alter_column(
            "webhook_id",
            existing_type=sa.String(length=256),
            type_=sa.String(length=200),
            existing_nullable=False,
        )
