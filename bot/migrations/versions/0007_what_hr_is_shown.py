"""what HR is shown of an interview

HR's `status`, the departure webhook's answers and `exitbot links` read an interview's stage
from two columns that only HR, the HR system, the platforms and the clock write, never the
person: `shown_until` (the end of the answering period once the invite, or a link in its
place, went out) and `unreachable_at` (chat could not reach them). Reading the status instead
told HR, by when an interview turned "closed", whether one named person had answered.

Existing rows get what the old columns tell: an invite that went out is shown until its
expiry (until its withdrawal, when withdrawn), an unreachable one is unreachable since its
last change, and a link offered before any invite is shown until the interview's expiry.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# `bot.departures.WITHDRAWN_AFTER_INVITE`, as it was when this revision was written
WITHDRAWN_AFTER_INVITE = "withdrawn with its departure after the invite went out"


def upgrade() -> None:
    # Plain ALTER TABLE on both backends: batch mode may copy `interviews` on SQLite, and
    # dropping the old copy runs the ON DELETE actions of every table pointing to it
    op.add_column("interviews", sa.Column("shown_until", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "interviews", sa.Column("unreachable_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.execute("UPDATE interviews SET unreachable_at = updated_at WHERE status = 'unreachable'")
    op.execute(
        "UPDATE interviews SET shown_until = COALESCE(expires_at, invited_at) "
        "WHERE invited_at IS NOT NULL AND status != 'unreachable'"
    )
    op.execute(
        "UPDATE interviews SET shown_until = expires_at "
        "WHERE invited_at IS NULL AND status = 'scheduled' AND expires_at IS NOT NULL "
        "AND EXISTS (SELECT 1 FROM web_links WHERE web_links.interview_id = interviews.id)"
    )
    # withdrawn (with its departure, or from the wrong person): shown closed from then on
    op.execute(
        "UPDATE interviews SET shown_until = updated_at "
        "WHERE status = 'cancelled' AND shown_until IS NOT NULL AND updated_at < shown_until"
    )
    cancelled = (
        "SELECT departures.updated_at FROM departures "
        "WHERE departures.id = interviews.departure_id AND departures.status = 'cancelled'"
    )
    op.execute(
        f"UPDATE interviews SET shown_until = ({cancelled}) "
        f"WHERE shown_until IS NOT NULL AND ({cancelled}) < shown_until"
    )
    # withdrawn with its departure: never invited again for it (as after any answer)
    op.execute(
        f"UPDATE interviews SET note = '{WITHDRAWN_AFTER_INVITE}' "
        f"WHERE status = 'cancelled' AND shown_until IS NOT NULL AND note IS NULL "
        f"AND ({cancelled}) IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_column("interviews", "unreachable_at")
    op.drop_column("interviews", "shown_until")
