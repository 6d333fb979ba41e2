"""The database schema. Text an employee wrote is only ever stored encrypted (`*_enc`)."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Id = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


# Made-up people of the playground's demo interviews have addresses in this reserved domain
# (RFC 2606): never counted in a digest HR receives (`bot.digest.unpublished`).
DEMO_DOMAIN = "playground.invalid"


class Employee(Base):
    """A person ExitBot knows of: from the HR system, a chat platform or the terminal."""

    __tablename__ = "employees"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    external_id: Mapped[str | None] = mapped_column(String(100))
    name: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(8))
    timezone: Mapped[str | None] = mapped_column(String(64))
    department: Mapped[str | None] = mapped_column(String(200))
    personal_email: Mapped[str | None] = mapped_column(String(320))
    manager_email: Mapped[str | None] = mapped_column(String(320))
    manager_name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PlatformIdentity(Base):
    """How to reach an employee on one platform (Slack user id, Teams conversation reference)."""

    __tablename__ = "platform_identities"
    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    employee_id: Mapped[int | None] = mapped_column(
        ForeignKey("employees.id", ondelete="CASCADE"), index=True
    )
    conversation_id: Mapped[str | None] = mapped_column(String(300))
    reference: Mapped[dict[str, object] | None] = mapped_column(JSON)
    locale: Mapped[str | None] = mapped_column(String(16))
    timezone: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


# A departure's decisions under which its interview is held (`bot.departures`)
INVITING_DECISIONS = ("auto", "approved", "manual")


class Departure(Base):
    """One departure as the HR system (or an HR admin) announced it."""

    __tablename__ = "departures"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    external_id: Mapped[str] = mapped_column(String(100), unique=True)
    employee_id: Mapped[int | None] = mapped_column(
        ForeignKey("employees.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    last_working_day: Mapped[date | None] = mapped_column(Date)
    # active | cancelled
    status: Mapped[str] = mapped_column(String(16), default="active")
    # auto | awaiting_approval | approved | skipped | not_invited | manual
    decision: Mapped[str] = mapped_column(String(24))
    decided_by: Mapped[str | None] = mapped_column(String(320))
    # webhook-timestamp of the newest event applied: older events never undo newer ones
    event_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ApprovalRequest(Base):
    """An approval request in an HR admin's chat that may still show its buttons, and where
    it is (`bot.approval_requests`): kept until the message is changed to say the request
    is closed (replaced by a newer one, decided, cancelled). No name is stored: the
    request's text is rendered again from the departure, with the kind and last working day
    it named. A departure erased or purged leaves its rows without it (`departure_id` NULL),
    so the request loses the name too."""

    __tablename__ = "approval_requests"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    departure_id: Mapped[int | None] = mapped_column(
        ForeignKey("departures.id", ondelete="SET NULL"), index=True
    )
    round_number: Mapped[int] = mapped_column(Integer)  # `bot.departures.ask_for_approval`
    kind: Mapped[str] = mapped_column(String(32))
    last_working_day: Mapped[date | None] = mapped_column(Date)
    channel: Mapped[str] = mapped_column(String(16))  # "slack" | "teams"
    conversation_id: Mapped[str] = mapped_column(String(300))  # the admin's DM
    message_id: Mapped[str] = mapped_column(String(200))  # Slack ts, Teams activity id
    language: Mapped[str] = mapped_column(String(8))  # the admin's, as the request was worded
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime())


class WebhookEvent(Base):
    """Every accepted `webhook-id`, kept so a redelivery changes nothing."""

    __tablename__ = "webhook_events"
    webhook_id: Mapped[str] = mapped_column(String(256), primary_key=True)  # as accepted
    event_type: Mapped[str] = mapped_column(String(40))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class ErasedDeparture(Base):
    """A departure erased on request (`exitbot forget`): the HR system's later events about
    it change nothing, so the person is not re-created and invited again. Only a SHA-256 of
    the HR system's departure id is kept, never a name or address; gone after two years."""

    __tablename__ = "erased_departures"
    ref_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    erased_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


def erased_ref(external_id: str) -> str:
    return hashlib.sha256(external_id.encode("utf-8")).hexdigest()


class Interview(Base):
    __tablename__ = "interviews"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    departure_id: Mapped[int | None] = mapped_column(
        ForeignKey("departures.id", ondelete="SET NULL"), index=True
    )
    employee_id: Mapped[int | None] = mapped_column(
        ForeignKey("employees.id", ondelete="SET NULL"), index=True
    )
    # scheduled | invited | in_progress | paused | completed | declined | stopped | deleted
    # | expired | cancelled | unreachable
    status: Mapped[str] = mapped_column(String(16), index=True)
    channel: Mapped[str | None] = mapped_column(String(16))
    address: Mapped[str | None] = mapped_column(String(300))
    language: Mapped[str] = mapped_column(String(8))
    questionnaire_id: Mapped[str] = mapped_column(String(100))
    questionnaire_version: Mapped[str] = mapped_column(String(50))
    state_enc: Mapped[str | None] = mapped_column(Text)
    invite_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    invited_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_activity_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    note: Mapped[str | None] = mapped_column(String(200))
    # Someone trying the bot: `exitbot chat` opened it with no departure behind it (decided
    # once, when it is made). Never counted as a leaver: no facts, so in no digest or export;
    # not in HR's status; no bar to a real interview (`bot.departures.elsewhere`). Its answers
    # are kept, purged and erased like any other's.
    tryout: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # What HR and the HR system are shown (`bot.departures.hr_stage`), written only by what
    # HR, the HR system, the platforms and the clock do, never by what the person does:
    # the end of the answering period once the invite (or a link in its place) went out,
    # moved with the departure's dates, cut short when the departure is withdrawn...
    shown_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # ...and when chat could not reach the employee (however they use the web link since).
    unreachable_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


Index(
    "ix_interviews_employee_open",
    Interview.employee_id,
    Interview.status,
)


class AnswerRow(Base):
    """One answer or follow-up answer; the message that produced it is unique."""

    __tablename__ = "answers"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    interview_id: Mapped[int] = mapped_column(
        ForeignKey("interviews.id", ondelete="CASCADE"), index=True
    )
    question_id: Mapped[str] = mapped_column(String(100))
    seq: Mapped[int] = mapped_column(Integer, default=0)
    message_key: Mapped[str] = mapped_column(String(300), unique=True)
    text_enc: Mapped[str | None] = mapped_column(Text)
    value: Mapped[str | None] = mapped_column(String(100))
    themes: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class InboundMessage(Base):
    """Every inbound platform message, recorded before it is acted on (the inbox).

    The key (`slack:<event_id>`, `teams:<activity id>`, ...) makes redeliveries harmless; a
    message whose processing was cut short by a crash stays `pending` and is redone by the tick.
    """

    __tablename__ = "inbound_messages"
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    interview_id: Mapped[int | None] = mapped_column(
        ForeignKey("interviews.id", ondelete="CASCADE"), index=True
    )
    # pending (acknowledged, not yet processed) | replying (turn stored, reply not yet
    # confirmed sent) | done
    status: Mapped[str] = mapped_column(String(16), default="pending")
    payload_enc: Mapped[str | None] = mapped_column(Text)
    reply_enc: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


Index("ix_inbound_messages_status", InboundMessage.status, InboundMessage.received_at)


class Job(Base):
    """Due work (invites, reminders, expiries, digests, purges), claimed atomically by a tick."""

    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    interview_id: Mapped[int | None] = mapped_column(
        ForeignKey("interviews.id", ondelete="CASCADE"), index=True
    )
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # due | claimed | done | cancelled | failed
    status: Mapped[str] = mapped_column(String(16), default="due")
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(300))
    payload: Mapped[dict[str, object] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


Index("ix_jobs_status_due", Job.status, Job.due_at)


class SentMessage(Base):
    """Idempotency keys of outbound messages already delivered."""

    __tablename__ = "sent_messages"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime())


class InterviewFact(Base):
    """Anonymous aggregates of one confirmed interview: what the digest counts.

    `interview_id` is the only link to a person; retention sets it to NULL.
    """

    __tablename__ = "interview_facts"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    interview_id: Mapped[int | None] = mapped_column(
        ForeignKey("interviews.id", ondelete="SET NULL"), unique=True
    )
    period: Mapped[str] = mapped_column(String(10), index=True)
    department: Mapped[str | None] = mapped_column(String(200))
    departure_kind: Mapped[str | None] = mapped_column(String(32))
    main_reason: Mapped[str | None] = mapped_column(String(64))
    recommend: Mapped[int | None] = mapped_column(Integer)
    manager_score: Mapped[int | None] = mapped_column(Integer)
    come_back: Mapped[str | None] = mapped_column(String(16))
    digest_id: Mapped[int | None] = mapped_column(
        ForeignKey("digests.id", ondelete="SET NULL"), index=True
    )


class FactTheme(Base):
    __tablename__ = "fact_themes"
    fact_id: Mapped[int] = mapped_column(
        ForeignKey("interview_facts.id", ondelete="CASCADE"), primary_key=True
    )
    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    theme: Mapped[str] = mapped_column(String(64), primary_key=True)


class Digest(Base):
    """One posted (or withheld) digest; `figures` keeps what was published, for differencing."""

    __tablename__ = "digests"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    # "2026-12-01T09:00" (cron slot, company time) or "manual:…"; unique: posted once
    slot: Mapped[str] = mapped_column(String(40), unique=True)
    # pending (no HR channel yet) | posting (figures frozen) | posted | empty | superseded
    status: Mapped[str] = mapped_column(String(16))
    figures: Mapped[dict[str, object] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # when posted; while pending/posting: when the latest attempt started (its lease)
    posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WebLink(Base):
    """A private web-chat link; only the SHA-256 of the token is stored."""

    __tablename__ = "web_links"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    interview_id: Mapped[int] = mapped_column(
        ForeignKey("interviews.id", ondelete="CASCADE"), index=True
    )
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AccessLog(Base):
    """Who read raw answers, when and why (never what)."""

    __tablename__ = "access_log"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(100))
    interview_id: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[str | None] = mapped_column(String(300))


__all__ = [
    "AccessLog",
    "AnswerRow",
    "ApprovalRequest",
    "Base",
    "Departure",
    "Digest",
    "Employee",
    "FactTheme",
    "InboundMessage",
    "Interview",
    "InterviewFact",
    "Job",
    "PlatformIdentity",
    "SentMessage",
    "WebLink",
    "WebhookEvent",
]
