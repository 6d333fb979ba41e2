"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-26 22:17:52.063982
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "access_log",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("interview_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_log")),
    )
    op.create_table(
        "digests",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("slot", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digests")),
        sa.UniqueConstraint("slot", name=op.f("uq_digests_slot")),
    )
    op.create_table(
        "employees",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("external_id", sa.String(length=100), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("department", sa.String(length=200), nullable=True),
        sa.Column("personal_email", sa.String(length=320), nullable=True),
        sa.Column("manager_email", sa.String(length=320), nullable=True),
        sa.Column("manager_name", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_employees")),
        sa.UniqueConstraint("email", name=op.f("uq_employees_email")),
    )
    op.create_table(
        "sent_messages",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_sent_messages")),
    )
    op.create_table(
        "webhook_events",
        sa.Column("webhook_id", sa.String(length=200), nullable=False),
        sa.Column("event_type", sa.String(length=40), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("webhook_id", name=op.f("pk_webhook_events")),
    )
    with op.batch_alter_table("webhook_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webhook_events_received_at"), ["received_at"], unique=False
        )

    op.create_table(
        "departures",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("external_id", sa.String(length=100), nullable=False),
        sa.Column(
            "employee_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("last_working_day", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decision", sa.String(length=24), nullable=False),
        sa.Column("decided_by", sa.String(length=320), nullable=True),
        sa.Column("event_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["employee_id"],
            ["employees.id"],
            name=op.f("fk_departures_employee_id_employees"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_departures")),
        sa.UniqueConstraint("external_id", name=op.f("uq_departures_external_id")),
    )
    with op.batch_alter_table("departures", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_departures_employee_id"), ["employee_id"], unique=False
        )

    op.create_table(
        "platform_identities",
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.String(length=200), nullable=False),
        sa.Column(
            "employee_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("conversation_id", sa.String(length=300), nullable=True),
        sa.Column("reference", sa.JSON(), nullable=True),
        sa.Column("locale", sa.String(length=16), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["employee_id"],
            ["employees.id"],
            name=op.f("fk_platform_identities_employee_id_employees"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("platform", "user_id", name=op.f("pk_platform_identities")),
    )
    with op.batch_alter_table("platform_identities", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_platform_identities_employee_id"), ["employee_id"], unique=False
        )

    op.create_table(
        "interviews",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "departure_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "employee_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=True),
        sa.Column("address", sa.String(length=300), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("questionnaire_id", sa.String(length=100), nullable=False),
        sa.Column("questionnaire_version", sa.String(length=50), nullable=False),
        sa.Column("state_enc", sa.Text(), nullable=True),
        sa.Column("invite_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("invited_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_activity_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["departure_id"],
            ["departures.id"],
            name=op.f("fk_interviews_departure_id_departures"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["employee_id"],
            ["employees.id"],
            name=op.f("fk_interviews_employee_id_employees"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interviews")),
    )
    with op.batch_alter_table("interviews", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_interviews_completed_at"), ["completed_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_interviews_departure_id"), ["departure_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_interviews_employee_id"), ["employee_id"], unique=False
        )
        batch_op.create_index(
            "ix_interviews_employee_open", ["employee_id", "status"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_interviews_status"), ["status"], unique=False)

    op.create_table(
        "answers",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "interview_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("question_id", sa.String(length=100), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("message_key", sa.String(length=300), nullable=False),
        sa.Column("text_enc", sa.Text(), nullable=True),
        sa.Column("value", sa.String(length=100), nullable=True),
        sa.Column("themes", sa.String(length=300), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["interview_id"],
            ["interviews.id"],
            name=op.f("fk_answers_interview_id_interviews"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_answers")),
        sa.UniqueConstraint("message_key", name=op.f("uq_answers_message_key")),
    )
    with op.batch_alter_table("answers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_answers_interview_id"), ["interview_id"], unique=False)

    op.create_table(
        "inbound_messages",
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column(
            "interview_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("payload_enc", sa.Text(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["interview_id"],
            ["interviews.id"],
            name=op.f("fk_inbound_messages_interview_id_interviews"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_inbound_messages")),
    )
    with op.batch_alter_table("inbound_messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_inbound_messages_interview_id"), ["interview_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_inbound_messages_received_at"), ["received_at"], unique=False
        )
        batch_op.create_index("ix_inbound_messages_status", ["status", "received_at"], unique=False)

    op.create_table(
        "interview_facts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "interview_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("department", sa.String(length=200), nullable=True),
        sa.Column("departure_kind", sa.String(length=32), nullable=True),
        sa.Column("main_reason", sa.String(length=64), nullable=True),
        sa.Column("recommend", sa.Integer(), nullable=True),
        sa.Column("manager_score", sa.Integer(), nullable=True),
        sa.Column("come_back", sa.String(length=16), nullable=True),
        sa.Column("digest_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.ForeignKeyConstraint(
            ["digest_id"],
            ["digests.id"],
            name=op.f("fk_interview_facts_digest_id_digests"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["interview_id"],
            ["interviews.id"],
            name=op.f("fk_interview_facts_interview_id_interviews"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interview_facts")),
        sa.UniqueConstraint("interview_id", name=op.f("uq_interview_facts_interview_id")),
    )
    with op.batch_alter_table("interview_facts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_interview_facts_digest_id"), ["digest_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_interview_facts_period"), ["period"], unique=False)

    op.create_table(
        "jobs",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column(
            "interview_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.String(length=100), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["interview_id"],
            ["interviews.id"],
            name=op.f("fk_jobs_interview_id_interviews"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_jobs_idempotency_key")),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_jobs_interview_id"), ["interview_id"], unique=False)
        batch_op.create_index("ix_jobs_status_due", ["status", "due_at"], unique=False)

    op.create_table(
        "web_links",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "interview_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("emailed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["interview_id"],
            ["interviews.id"],
            name=op.f("fk_web_links_interview_id_interviews"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_web_links")),
    )
    with op.batch_alter_table("web_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_web_links_interview_id"), ["interview_id"], unique=False
        )

    op.create_table(
        "fact_themes",
        sa.Column("fact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("theme", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["fact_id"],
            ["interview_facts.id"],
            name=op.f("fk_fact_themes_fact_id_interview_facts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("fact_id", "source", "theme", name=op.f("pk_fact_themes")),
    )


def downgrade() -> None:
    op.drop_table("fact_themes")
    with op.batch_alter_table("web_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_web_links_interview_id"))

    op.drop_table("web_links")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_status_due")
        batch_op.drop_index(batch_op.f("ix_jobs_interview_id"))

    op.drop_table("jobs")
    with op.batch_alter_table("interview_facts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_interview_facts_period"))
        batch_op.drop_index(batch_op.f("ix_interview_facts_digest_id"))

    op.drop_table("interview_facts")
    with op.batch_alter_table("inbound_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_inbound_messages_status")
        batch_op.drop_index(batch_op.f("ix_inbound_messages_received_at"))
        batch_op.drop_index(batch_op.f("ix_inbound_messages_interview_id"))

    op.drop_table("inbound_messages")
    with op.batch_alter_table("answers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_answers_interview_id"))

    op.drop_table("answers")
    with op.batch_alter_table("interviews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_interviews_status"))
        batch_op.drop_index("ix_interviews_employee_open")
        batch_op.drop_index(batch_op.f("ix_interviews_employee_id"))
        batch_op.drop_index(batch_op.f("ix_interviews_departure_id"))
        batch_op.drop_index(batch_op.f("ix_interviews_completed_at"))

    op.drop_table("interviews")
    with op.batch_alter_table("platform_identities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_platform_identities_employee_id"))

    op.drop_table("platform_identities")
    with op.batch_alter_table("departures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_departures_employee_id"))

    op.drop_table("departures")
    with op.batch_alter_table("webhook_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_events_received_at"))

    op.drop_table("webhook_events")
    op.drop_table("sent_messages")
    op.drop_table("employees")
    op.drop_table("digests")
    op.drop_table("access_log")
