"""`exitbot digest [--dry-run]`, `exitbot export --anonymised`, `exitbot scrub`."""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot import digest_post, export
from bot.cli import main
from bot.clock import FrozenClock
from bot.crypto import Cipher
from bot.models import Digest, InterviewFact
from bot.runtime import Runtime
from tests.digest.support import (
    DEC_SLOT,
    NOV,
    Persona,
    ReportChannel,
    add_facts,
    interview,
    settings_for,
)

KEY = Cipher.new_key()
SUGGESTION = "Give every team a real training budget and time to use it, suggestion"


@pytest.fixture(autouse=True)
def _keep_logging() -> Iterator[None]:
    """`main` installs a stderr log handler; drop it, as pytest closes that stream later."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'hr.db'}"
    monkeypatch.setenv("EXITBOT_DATABASE_URL", url)
    monkeypatch.setenv("EXITBOT_ENCRYPTION_KEY", KEY)
    monkeypatch.setenv("EXITBOT_TIMEZONE", "Europe/Amsterdam")
    return url


def _with_runtime(url: str, work: object) -> None:
    async def go() -> None:
        rt = Runtime.open(
            settings_for(url, key=KEY), clock=FrozenClock(NOV), channels={"slack": ReportChannel()}
        )
        try:
            await work(rt)  # type: ignore[operator]
        finally:
            await rt.close()

    asyncio.run(go())


def _count(url: str, model: type) -> int:
    found: list[int] = []

    async def work(rt: Runtime) -> None:
        async with rt.db.sessions() as session:
            found.append(int(await session.scalar(select(func.count()).select_from(model)) or 0))

    _with_runtime(url, work)
    return found[0]


def test_dry_run_prints_the_digest_and_records_nothing(
    env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    async def work(rt: Runtime) -> None:
        await add_facts(rt, 6, department="Sales", reason="workload")

    _with_runtime(env, work)
    assert main(["digest", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "Interviews: 6" in out and "Workload and work-life balance: 6 (100%)" in out
    assert "Sales: 6" in out
    assert "drawn at random" not in out  # no quotes (EXITBOT_DIGEST_QUOTES is off)
    assert _count(env, Digest) == 0

    async def stamped(rt: Runtime) -> None:
        async with rt.db.sessions() as session:
            ids = (await session.scalars(select(InterviewFact.digest_id))).all()
        assert ids == [None] * 6

    _with_runtime(env, stamped)


def test_a_dry_run_tells_the_operator_it_is_not_for_hr(
    env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Figures before they are posted move with each interview: the dry run says so on
    stderr (where only whoever runs it reads it), and its output stays the digest."""

    async def work(rt: Runtime) -> None:
        await add_facts(rt, 5, department="Sales", reason="workload", recommend=9, manager=4)

    _with_runtime(env, work)
    assert main(["digest", "--dry-run"]) == 0
    printed = capsys.readouterr()
    assert "Interviews: 5" in printed.out and "operators" not in printed.out
    assert "two dry runs compared show what the interviews completed in between" in printed.err
    assert "'digest preview' shows no figures" in printed.err
    assert main(["digest"]) == 1  # posting is another matter (no HR channel here)
    assert "two dry runs" not in capsys.readouterr().err


def test_dry_run_with_quotes_says_they_are_drawn_at_random(
    env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each dry run draws its quotes afresh (and the posted digest again): said in one line,
    so that HR reads nothing into which ones appear."""
    monkeypatch.setenv("EXITBOT_DIGEST_QUOTES", "on")

    async def work(rt: Runtime) -> None:
        for n in range(10):  # 2k people with free text: quotes are shown
            await interview(rt, f"leaver{n}@example.com", Persona(suggest=f"{SUGGESTION} {n}"))

    _with_runtime(env, work)
    assert main(["digest", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "In their own words" in out  # quotes are shown (which ones is drawn at random)
    said = [line for line in out.splitlines() if "drawn at random" in line]
    assert said == [
        "(The quotes are drawn at random on every run: another dry run, and the digest when "
        "it is posted, may show other ones.)"
    ]
    assert out.rstrip().endswith(said[0])

    monkeypatch.setenv("EXITBOT_LANGUAGE", "nl")
    assert main(["digest", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "(De citaten worden elke keer willekeurig gekozen" in out.splitlines()[-1]


def test_digest_without_an_hr_channel_posts_nothing(
    env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["digest"]) == 1
    assert "EXITBOT_HR_CHANNEL" in capsys.readouterr().err
    assert _count(env, Digest) == 0


def test_export_has_published_aggregates_only(
    env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    themes = [("main_reason", "workload"), ("suggestions", "career_growth")]

    async def work(rt: Runtime) -> None:
        await add_facts(rt, 5, department="Sales", reason="workload", recommend=9, themes=themes)
        await add_facts(
            rt, 5, department="Engineering", reason="manager", recommend=3, themes=themes
        )
        await add_facts(rt, 2, department="Legal Affairs", reason="culture", themes=themes)
        await digest_post.post_due_digest(rt, DEC_SLOT)
        await add_facts(rt, 3, period="2026-12", department="Sales")  # unpublished: not exported

    _with_runtime(env, work)
    target = tmp_path / "out.csv"
    assert main(["export", "--anonymised", str(target)]) == 0
    assert "wrote 12" in capsys.readouterr().out
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert len(rows) == 12
    assert set(rows[0]) == {
        "period",
        "department",
        "main_reason",
        "leaving_themes",
        "improvement_themes",
        "recommend",
        "manager_score",
        "come_back",
    }
    assert {r["period"] for r in rows} == {"2026-11"}
    departments = sorted(r["department"] for r in rows)
    # Legal (2) would leave 2 over: the smaller shown group (Engineering, by name) merges too.
    assert "Legal Affairs" not in departments
    assert departments.count("") == 7 and departments.count("Sales") == 5
    assert {r["leaving_themes"] for r in rows} == {"workload"}
    assert {r["improvement_themes"] for r in rows} == {"career_growth"}


def test_an_empty_export_says_why_and_when_the_next_digest_is_due(
    env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """'wrote 0 published interview(s)' with interviews completed looked like a fault: only
    interviews a posted digest has published are exported, and the next digest is due at the
    next EXITBOT_DIGEST_CRON moment (default: the 1st of the month, 09:00 company time)."""
    target = tmp_path / "out.csv"
    assert main(["export", "--anonymised", str(target)]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == ["No exit interview has been completed yet."]

    async def work(rt: Runtime) -> None:
        await add_facts(rt, 3, department="Sales")

    _with_runtime(env, work)
    assert main(["export", "--anonymised", str(target)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"wrote 0 published interview(s) to {target}\n")
    assert "3 completed interview(s) are not in it yet: only interviews a posted digest has " in out
    assert re.search(r"The next digest is due \w{3} 01 \w{3} \d{4} 09:00 Europe/Amsterdam;", out)
    assert "once at least 5 are in" in out
    assert target.read_text(encoding="utf-8").splitlines() == [",".join(export.COLUMNS)]


def test_scrub_uses_names_from_the_database(
    env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async def work(rt: Runtime) -> None:
        async with rt.db.transaction() as session:
            await rt.service.upsert_employee(
                session,
                email="anna@example.com",
                name="Anna de Vries",
                now=rt.clock.now(),
                manager_name="Jan van der Berg",
            )

    _with_runtime(env, work)
    lines = [
        "Mijn manager Jan van der Berg luisterde niet, vraag maar aan Anna.",
        "Mail anna@example.com of bel 06-12345678, BSN 111222333, IBAN NL91ABNA0417164300",
        "Niets bijzonders 123456789",
    ]
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(lines) + "\n"))
    assert main(["scrub", "--lang", "nl"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "Mijn manager [name] luisterde niet, vraag maar aan [name].",
        "Mail [email] of bel [phone], BSN [bsn], IBAN [iban]",
        "Niets bijzonders 123456789",
    ]


def test_scrub_without_a_database(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EXITBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'none.db'}")
    monkeypatch.setattr("sys.stdin", io.StringIO("mail me at x@example.org\n"))
    assert main(["scrub"]) == 0
    assert capsys.readouterr().out == "mail me at [email]\n"
    assert not (tmp_path / "none.db").exists()
