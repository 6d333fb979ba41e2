"""try-out interviews

`interviews.tryout`: an interview `exitbot chat` opened with no departure behind it is
someone trying the bot (IT setting it up, HR previewing the questions), never a leaver: it
makes no facts (digests, export), does not count in HR's status, and is no bar to a real
interview for the same address.

Backfill: the interviews held so far in the terminal without a departure are try-outs, and
the facts they made that no digest has published yet are deleted (published ones stay as
they are: changing them would let the next digest give someone away by comparison).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 07:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

interviews = sa.table(
    "interviews",
    sa.column("id", sa.Integer),
    sa.column("departure_id", sa.Integer),
    sa.column("channel", sa.String),
    sa.column("tryout", sa.Boolean),
)
facts = sa.table(
    "interview_facts",
    sa.column("id", sa.Integer),
    sa.column("interview_id", sa.Integer),
    sa.column("digest_id", sa.Integer),
)
fact_themes = sa.table("fact_themes", sa.column("fact_id", sa.Integer))


def upgrade() -> None:
    # ALTER TABLE ... ADD COLUMN on both backends. Not in batch mode: for a default that is an
    # expression, SQLite's batch mode copies the table and drops the old one, and with foreign
    # keys on, that drop empties the tables that point to it (answers, inbox, jobs: ON DELETE
    # CASCADE; facts: cut loose).
    op.add_column(
        "interviews", sa.Column("tryout", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.execute(
        interviews.update()
        .where(interviews.c.departure_id.is_(None), interviews.c.channel == "console")
        .values(tryout=sa.true())
    )
    unpublished = sa.select(facts.c.id).where(
        facts.c.digest_id.is_(None),
        facts.c.interview_id.in_(
            sa.select(interviews.c.id).where(interviews.c.tryout.is_(sa.true()))
        ),
    )
    # the themes first: SQLite enforces no foreign keys (no ON DELETE CASCADE) here
    op.execute(fact_themes.delete().where(fact_themes.c.fact_id.in_(unpublished)))
    op.execute(facts.delete().where(facts.c.id.in_(unpublished)))


def downgrade() -> None:
    op.drop_column("interviews", "tryout")  # not in batch mode either: see `upgrade`
