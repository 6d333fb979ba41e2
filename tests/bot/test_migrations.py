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


def test_0006_takes_the_terminal_chats_without_a_departure_for_tryouts(database_url: str) -> None:
    """Before try-outs existed, every `exitbot chat` was counted as a leaver. Upgrading marks
    the interviews held in the terminal with no departure behind them as try-outs and deletes
    the facts of theirs that no digest has published (a published one stays as it was); a
    departure's interview held in the terminal, and interviews held elsewhere, stay real."""
    from alembic import command
    from sqlalchemy import text

    db = Database(database_url)
    engine = db.sync_engine()
    try:
        with engine.connect() as conn:
            cfg = migrate.alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0005")
            at = {"at": "2026-11-20 10:00:00"}
            for sql in (
                "INSERT INTO employees (id, email, created_at, updated_at)"
                " VALUES (1, 'me@example.com', :at, :at), (2, 'anna@example.com', :at, :at)",
                "INSERT INTO departures (id, external_id, employee_id, kind, status, decision,"
                " created_at, updated_at) VALUES (1, 'hr-1', 2, 'resignation', 'active', 'auto',"
                " :at, :at)",
                "INSERT INTO digests (id, slot, status, created_at)"
                " VALUES (1, '2026-11-01T09:00', 'posted', :at)",
            ):
                conn.execute(text(sql), at)
            # id: (channel, departure): a try-out's two facts (one published), a departure's
            # interview held in the terminal, a chat invite, a web chat, one still scheduled
            held = {
                1: ("console", None),
                2: ("console", None),
                3: ("console", 1),
                4: ("slack", None),
                5: ("web", None),
                6: (None, 1),
            }
            for interview_id, (channel, departure_id) in held.items():
                conn.execute(
                    text(
                        "INSERT INTO interviews (id, departure_id, employee_id, status, channel,"
                        " language, questionnaire_id, questionnaire_version, created_at,"
                        " updated_at) VALUES (:id, :departure, :employee, 'completed', :channel,"
                        " 'en', 'model', '1', :at, :at)"
                    ),
                    {
                        "id": interview_id,
                        "departure": departure_id,
                        "employee": 2 if departure_id else 1,
                        "channel": channel,
                        **at,
                    },
                )
                conn.execute(
                    text(
                        "INSERT INTO interview_facts (id, interview_id, period, digest_id)"
                        " VALUES (:id, :id, '2026-11', :digest)"
                    ),
                    {"id": interview_id, "digest": 1 if interview_id == 2 else None},
                )
                conn.execute(
                    text(
                        "INSERT INTO fact_themes (fact_id, source, theme)"
                        " VALUES (:id, 'suggestions', 'workload')"
                    ),
                    {"id": interview_id},
                )
                conn.execute(
                    text(
                        "INSERT INTO answers (interview_id, question_id, seq, message_key,"
                        " created_at) VALUES (:id, 'main_reason', 0, :key, :at)"
                    ),
                    {"id": interview_id, "key": f"console:{interview_id}", **at},
                )
            conn.commit()
        assert migrate.upgrade(db) == migrate.head_revision()
        with engine.connect() as conn:
            tryouts = conn.execute(text("SELECT id, tryout FROM interviews ORDER BY id")).all()
            facts = conn.scalars(text("SELECT interview_id FROM interview_facts ORDER BY id"))
            themes = conn.scalars(text("SELECT fact_id FROM fact_themes ORDER BY fact_id"))
            assert [(i, bool(t)) for i, t in tryouts] == [
                (1, True),
                (2, True),
                (3, False),
                (4, False),
                (5, False),
                (6, False),
            ]
            assert list(facts) == [2, 3, 4, 5, 6]
            assert list(themes) == [2, 3, 4, 5, 6]
            # answers are kept (until retention), the try-outs' too: SQLite's batch mode, which
            # copies the table, had deleted them all (ON DELETE CASCADE)
            answers = conn.scalars(text("SELECT interview_id FROM answers ORDER BY id"))
            assert list(answers) == [1, 2, 3, 4, 5, 6]
    finally:
        engine.dispose()


def test_existing_interviews_are_shown_to_hr_as_before_the_upgrade(database_url: str) -> None:
    """0007 adds what HR is shown of an interview (`bot.departures.hr_stage`): interviews
    stored before it get it from what their rows tell, so `status` reads the same after the
    upgrade, and a departure withdrawn after its invite went out does not invite again."""
    from datetime import UTC, datetime, timedelta

    from alembic import command
    from sqlalchemy import insert, select

    from bot import departures
    from bot.models import Departure, Interview, WebLink

    now = datetime(2026, 12, 14, 12, tzinfo=UTC)
    invited, ends = now - timedelta(days=3), now + timedelta(days=4)
    withdrawn = now - timedelta(days=1)
    db = Database(database_url)
    engine = db.sync_engine()
    try:
        with engine.connect() as conn:
            cfg = migrate.alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0006")
            for n, status in enumerate(("active", "cancelled"), start=1):
                conn.execute(
                    insert(Departure.__table__).values(
                        id=n,
                        external_id=f"hr-{n}",
                        kind="resignation",
                        status=status,
                        decision="auto",
                        created_at=invited,
                        updated_at=withdrawn if status == "cancelled" else invited,
                    )
                )
            rows = {
                # name: (departure, status, invited_at, expires_at, updated_at)
                "ignored": (1, "invited", invited, ends, invited),
                "declined": (1, "declined", invited, ends, invited),
                "completed": (1, "completed", invited, now - timedelta(days=30), invited),
                "unreachable": (1, "unreachable", None, ends, invited),
                "withdrawn": (2, "cancelled", invited, ends, withdrawn),
                "withdrawn, held": (2, "completed", invited, ends, invited),
                "to send": (1, "scheduled", None, ends, invited),
                "by link": (1, "scheduled", None, ends, invited),
                "self-started": (None, "in_progress", None, None, invited),
            }
            ids = {}
            for n, (name, (departure, status, sent, expires, updated)) in enumerate(
                rows.items(), start=1
            ):
                ids[name] = n
                conn.execute(
                    insert(Interview.__table__).values(
                        id=n,
                        departure_id=departure,
                        status=status,
                        language="en",
                        questionnaire_id="model",
                        questionnaire_version="1",
                        invited_at=sent,
                        expires_at=expires,
                        created_at=invited,
                        updated_at=updated,
                    )
                )
            conn.execute(
                insert(WebLink.__table__).values(
                    token_hash="0" * 64,
                    interview_id=ids["by link"],
                    expires_at=ends,
                    created_at=invited,
                )
            )
            conn.commit()
        assert migrate.upgrade(db) == migrate.head_revision()
        with engine.connect() as conn:
            found = {
                row.id: row for row in conn.execute(select(Interview.__table__)).mappings().all()
            }
    finally:
        engine.dispose()

    def stage(name: str) -> str | None:
        row = found[ids[name]]
        view = Interview(
            status=row["status"],
            shown_until=row["shown_until"],
            unreachable_at=row["unreachable_at"],
        )
        return departures.hr_stage(view, now)

    assert {name: stage(name) for name in rows} == {
        "ignored": "sent",
        "declined": "sent",  # it turned "closed" at once before: now at its end, as all
        "completed": "closed",  # its end (as it stood when it was held) has passed
        "unreachable": "unreachable",
        "withdrawn": "closed",
        "withdrawn, held": "closed",
        "to send": "scheduled",
        "by link": "sent",
        "self-started": None,  # no invite: not HR's to count
    }
    withdrawn_row = found[ids["withdrawn"]]
    assert withdrawn_row["note"] == departures.WITHDRAWN_AFTER_INVITE
