"""`exitbot chat` as a user runs it: piped answers, JSON transcript, kill and resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.crypto import Cipher


def env_for(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXITBOT_")}
    env["EXITBOT_DATABASE_URL"] = f"sqlite:///{tmp_path / 'chat.db'}"
    env["EXITBOT_ENCRYPTION_KEY"] = KEY
    return env


KEY = Cipher.new_key()


def chat(tmp_path: Path, lines: list[str], *args: str) -> list[dict[str, object]]:
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "chat", "--json", *args],
        input="".join(line + "\n" for line in lines),
        capture_output=True,
        text=True,
        env=env_for(tmp_path),
        cwd=tmp_path,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    messages = [json.loads(line) for line in proc.stdout.splitlines()]
    for m in messages:
        assert set(m) == {"kind", "text", "choices"}
        assert m["kind"] in {"intro", "question", "follow_up", "summary", "info", "outro"}
    return messages


def kinds(messages: list[dict[str, object]]) -> list[object]:
    return [m["kind"] for m in messages]


def test_whole_interview_in_english(tmp_path: Path) -> None:
    out = chat(
        tmp_path,
        [
            "Career growth",
            "ok",  # vague: probed
            "fine",  # still vague: the second and last probe
            "nothing really",  # no third probe: moves on
            "We never had clear career paths and promotions went to whoever shouted loudest",
            "2",  # low manager score: probed
            "My manager cancelled most of our one-on-ones and rarely gave feedback on my work",
            "skip",
            "Maybe",
            "back",  # reopen the previous answer
            "No",  # probed: would anything change their mind?
            "Only if the promotion process became transparent and fair for everyone",
            "Publish salary bands and make the promotion criteria visible for everyone",
            "no",
            "yes",
        ],
        "--lang",
        "en",
        "--as",
        "anna@example.com",
    )
    assert kinds(out[:3]) == ["info", "intro", "question"]  # the try-out note first
    assert "main reason" in str(out[2]["text"]) and len(out[2]["choices"]) == 11  # type: ignore[arg-type]
    follow_ups = [i for i, m in enumerate(out) if m["kind"] == "follow_up"]
    assert len(follow_ups) >= 3
    # valued_most got exactly two probes, then moved on
    start = next(i for i, m in enumerate(out) if "value most" in str(m["text"]))
    end = next(i for i, m in enumerate(out) if "better in your role" in str(m["text"]))
    valued = [m for m in out[start:end] if m["kind"] == "follow_up"]
    assert len(valued) == 2 and valued[0]["text"] != valued[1]["text"]
    texts = " ".join(str(m["text"]) for m in out)
    assert "What could have been better in your role?" in texts
    assert "Do you have suggestions for improvement?" in texts
    summary = next(m for m in out if m["kind"] == "summary")
    assert "Career growth" in str(summary["text"])
    assert "skipped" in str(summary["text"]).lower()
    assert "No" in str(summary["text"])  # the corrected come-back answer
    assert out[-1]["kind"] == "outro"


def test_detailed_answers_are_not_probed_and_dutch_works(tmp_path: Path) -> None:
    out = chat(
        tmp_path,
        [
            "Werkdruk en balans werk-privé",
            "Ik had structureel te veel overuren en er was geen ruimte om dat bespreekbaar te maken",
            "De collega's in mijn team en de vrijheid om mijn eigen werk in te delen",
            "Meer duidelijkheid over doelen en betere begeleiding bij grote projecten vanaf het begin",
            "4",
            "8",
            "Ja",
            "Zorg voor een eerlijke verdeling van het werk en neem signalen over werkdruk serieus",
            "nee",
            "ja",
        ],
        "--lang",
        "nl",
    )
    texts = " ".join(str(m["text"]) for m in out)
    assert "Wat had beter gekund in je rol?" in texts
    assert "Heb je suggesties voor verbetering?" in texts
    # Only the workload choice earns a probe; the detailed answers are not probed.
    assert kinds(out).count("follow_up") == 1
    assert out[-2]["kind"] == "summary" and out[-1]["kind"] == "outro"


def test_stop_and_delete(tmp_path: Path) -> None:
    stopped = chat(tmp_path, ["Career growth", "stop"], "--as", "stop@example.com")
    assert stopped[-1]["kind"] == "outro"
    deleted = chat(
        tmp_path,
        ["Career growth", "delete my answers", "yes"],
        "--as",
        "delete@example.com",
    )
    assert deleted[-1]["kind"] in {"outro", "info"}
    assert "delet" in str(deleted[-1]["text"]).lower()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_killed_between_two_answers_resumes_at_the_same_question(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "chat", "--json", "--as", "kill@example.com"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env_for(tmp_path),
        cwd=tmp_path,
    )
    assert proc.stdin and proc.stdout
    seen: list[dict[str, object]] = []
    while len(seen) < 3:  # the try-out note, the intro, the first question
        seen.append(json.loads(proc.stdout.readline()))
    proc.stdin.write("Pay and benefits\n")
    proc.stdin.flush()
    seen.append(json.loads(proc.stdout.readline()))  # the next question
    asked = seen[-1]["text"]
    time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    proc.stdin.close()
    proc.stdout.close()

    out = chat(tmp_path, [], "--as", "kill@example.com")
    assert out[-1]["kind"] == "question"
    assert out[-1]["text"] in str(asked)  # the same question, nothing lost
    summary = chat(
        tmp_path,
        ["The people", "I really liked the people in my team and the flexible hours", "x"],
        "--as",
        "kill@example.com",
    )
    assert summary  # the conversation continued from there


def test_after_stop_the_same_chat_takes_delete_my_answers(tmp_path: Path) -> None:
    """The stop message says to type "delete my answers"; the chat used to end right there,
    and the next lines were never read."""
    said = chat(tmp_path, ["Career growth", "stop", "delete my answers", "yes"], "--as", "s@x.nl")
    assert "delete my answers" in " ".join(str(m["text"]) for m in said)
    assert "deleted all your answers" in str(said[-1]["text"]), said[-1]
    import sqlite3

    with sqlite3.connect(tmp_path / "chat.db") as db:
        assert db.execute("SELECT status FROM interviews").fetchall() == [("deleted",)]


def test_after_stop_a_new_chat_still_takes_delete_my_answers(tmp_path: Path) -> None:
    """The stop message says 'type "delete my answers"': typed in the next `exitbot chat`,
    it deletes the stopped interview's answers (it used to start a new interview)."""
    stopped = chat(tmp_path, ["Career growth", "stop"], "--as", "later@example.com")
    assert "delete my answers" in str(stopped[-1]["text"])
    again = chat(tmp_path, ["delete my answers", "yes"], "--as", "later@example.com")
    assert "This conversation has ended" in str(again[1]["text"])  # reopened, not restarted
    assert "delet" in str(again[-1]["text"]).lower()
    import sqlite3

    with sqlite3.connect(tmp_path / "chat.db") as db:
        rows = db.execute("SELECT status FROM interviews").fetchall()
        answers = db.execute("SELECT count(*) FROM answers").fetchone()[0]
    assert rows == [("deleted",)] and answers == 0


def test_after_declining_a_new_chat_offers_to_start_and_reads_on(tmp_path: Path) -> None:
    """Anna said "no thanks" to her invite (in Dutch). `exitbot chat --as` her again offers the
    start, keeps reading after an "oké" (answered in Dutch: no interview is open), and
    "start" starts that same interview (it used to start a second one)."""
    import asyncio
    import io
    import sqlite3

    from adapters.base import Incoming
    from adapters.console import ConsoleChannel
    from bot.config import Settings
    from bot.runtime import Runtime
    from tests.channels.drivers import EMAIL, invite_in_chat

    async def decline() -> None:
        settings = Settings(database_url=env_for(tmp_path)["EXITBOT_DATABASE_URL"],
                            encryption_key=KEY)  # fmt: skip
        runtime = Runtime.open(settings, channels={"console": ConsoleChannel(io.StringIO())})
        try:
            interview_id = await invite_in_chat(runtime)
            with sqlite3.connect(tmp_path / "chat.db") as db:
                db.execute("UPDATE interviews SET language = 'nl' WHERE id = ?", (interview_id,))
            await runtime.service.begin_chat(channel="console", email=EMAIL, conversation_id=EMAIL)
            said = Incoming("console", EMAIL, EMAIL, "nee, bedankt", "m1")
            assert (await runtime.service.handle(said)).status == "declined"
        finally:
            await runtime.close()

    asyncio.run(decline())
    said = chat(tmp_path, ["oké", "start", "Career growth"], "--as", EMAIL)
    assert "Bedenk je je?" in str(said[0]["text"]), said[0]
    # no button to click in the terminal: it says to type "start" (it said "klik op Starten")
    assert str(said[0]["text"]).endswith('Dan kun je alsnog meedoen: typ "start".'), said[0]
    assert said[0]["choices"] == ["Starten"]
    # "oké": nothing started, said in her interview's Dutch (it used to be English)
    assert "Er staat op dit moment geen gesprek voor je klaar" in str(said[1]["text"]), said[1]
    assert kinds(said[2:]) == ["intro", "question", "question"]  # started, answered, asked on
    with sqlite3.connect(tmp_path / "chat.db") as db:
        assert db.execute("SELECT status FROM interviews").fetchall() == [("in_progress",)]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX pipes")
def test_a_reader_that_stops_reading_ends_the_chat_quietly(tmp_path: Path) -> None:
    """`exitbot chat … | head`: once head has gone, the next reply ended in "exitbot: [Errno
    32] Broken pipe". It ends quietly, with the status a shell shows for a Unix tool that
    SIGPIPE ended (141); the answer that was typed is stored."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "chat", "--as", "pipe@example.com"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env_for(tmp_path),
        cwd=tmp_path,
    )
    assert proc.stdin and proc.stdout and proc.stderr
    while "main reason" not in proc.stdout.readline():  # the intro, then the first question
        pass
    proc.stdout.close()  # head has seen its lines
    proc.stdin.write("Career growth\n")
    proc.stdin.close()
    assert proc.wait(timeout=60) == 141
    errors = proc.stderr.read()
    proc.stderr.close()
    assert "Broken pipe" not in errors and "Errno" not in errors and "Traceback" not in errors
    assert "Exception ignored" not in errors, errors
    import sqlite3

    with sqlite3.connect(tmp_path / "chat.db") as db:
        assert db.execute("SELECT question_id FROM answers").fetchall() == [("main_reason",)]


@pytest.mark.parametrize("who", ["not an email", "anna", "anna@localhost", ""])
def test_as_must_be_an_email_address(
    tmp_path: Path, who: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--as "not an email"` held an interview under that name; it is refused, naming the
    option, before anything is stored (the command line's own parsing, in this process)."""
    from bot.cli import build_parser

    with pytest.raises(SystemExit) as refused:
        build_parser().parse_args(["chat", "--json", "--as", who])
    assert refused.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert f"argument --as: expected your email address (e.g. anna@example.com), got {who!r}" in err
    assert not (tmp_path / "chat.db").exists()


def test_as_takes_an_address_as_typed(tmp_path: Path) -> None:
    assert chat(tmp_path, [], "--as", "Anna.de-Vries@Example.com")[1]["kind"] == "intro"


@pytest.mark.parametrize(
    ("lang", "typed", "numbered", "buttons"),
    [
        ("en", "help", "You can answer by typing your answer, or the number of an option in "
         "the list.", "button"),
        ("nl", "hulp", "Je kunt antwoorden door je antwoord te typen, of het nummer van een "
         "optie in de lijst.", "knop"),
    ],
)  # fmt: skip
def test_help_in_the_terminal_speaks_of_typing_not_of_buttons(tmp_path, lang, typed, numbered,
                                                                buttons):  # fmt: skip
    """The terminal has no buttons (it numbers the choices, and a typed number picks one);
    its help said "by typing or with the buttons" / "met de knoppen"."""
    said = chat(tmp_path, [typed, "2"], "--lang", lang, "--as", f"help-{lang}@example.com")
    help_text = str(said[3]["text"])  # after the try-out note, the intro and the question
    assert help_text.startswith(numbered), said[3]
    assert buttons not in help_text
    assert said[4]["kind"] == "question" and len(said[4]["choices"]) == 11  # asked again
    assert said[-1]["kind"] == "question" and said[-1] != said[4]  # "2" answered it


DETAILED = "I really enjoyed the projects with customers and the freedom to organise my own days"
TO_SUMMARY = ["1", DETAILED, DETAILED, "4", "9", "1", DETAILED, "no"]


def test_a_number_picks_from_the_list_shown_under_the_summary(tmp_path: Path) -> None:
    """The terminal numbers the summary's choices "1. Yes, that's right" / "2. I want to
    change something": typing 1 confirms (it reopened the summary's first line, the main
    reason, so typing what the screen offered never ended the interview), 2 lists the answers,
    and under "Delete all your answers?" 1 is "Yes, delete them" (it was not understood)."""
    out = chat(tmp_path, [*TO_SUMMARY, "2", "5", "9", "1"], "--as", "n@example.com")
    summary = next(m for m in out if m["kind"] == "summary")
    assert summary["choices"] == ["Yes, that's right", "I want to change something"]
    which = out[out.index(summary) + 1]
    assert "Which answer would you like to change?" in str(which["text"])  # "2": the list
    assert "Would recommend us" in str(out[-2]["text"])  # "5": that answer reopened
    assert "Would recommend us: 9/10" in str(out[-2]["text"]) and out[-1]["kind"] == "outro"
    deleted = chat(tmp_path, ["delete my answers", "1"], "--as", "n@example.com")
    assert "deleted all your answers" in str(deleted[-1]["text"]), deleted[-1]
    import sqlite3

    with sqlite3.connect(tmp_path / "chat.db") as db:
        assert db.execute("SELECT status FROM interviews").fetchall() == [("deleted",)]


def test_a_scale_is_listed_by_its_own_numbers(tmp_path: Path) -> None:
    """0–10 was listed "1. 0 – Not at all likely" … "11. 10 – Extremely likely", while a typed
    8 is read as the score 8: the terminal lists a scale's points unnumbered. A choice
    question keeps its numbers."""
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "chat", "--lang", "en"],
        input="".join(line + "\n" for line in TO_SUMMARY[:4]),
        capture_output=True,
        text=True,
        env=env_for(tmp_path),
        cwd=tmp_path,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert (
        "  0 – Not at all likely" in lines and "  8" in lines and "  10 – Extremely likely" in lines
    )
    assert "  9. 8" not in lines and "  11. 10 – Extremely likely" not in lines
    assert "  1. Career growth" in lines


def exitbot(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        env=env_for(tmp_path),
        cwd=tmp_path,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return proc


def test_a_tryout_says_so_and_how_to_hold_a_real_interview(tmp_path: Path) -> None:
    """Someone trying the bot (IT setting it up, HR previewing the questions) is no leaver:
    the terminal says first, in the interview's language, that HR's reports do not count
    this chat, and how to hold a real one."""
    nl = chat(tmp_path, [], "--lang", "nl")
    assert nl[0]["kind"] == "info" and "Dit is een proefgesprek" in str(nl[0]["text"]), nl[0]
    assert "`exitbot invite E-MAILADRES --last-day JJJJ-MM-DD`" in str(nl[0]["text"])
    assert "`exitbot chat --as E-MAILADRES`" in str(nl[0]["text"])
    assert kinds(nl[1:]) == ["intro", "question"]
    en = chat(tmp_path, [], "--lang", "en", "--as", "me@example.com")
    assert en[0] == {
        "kind": "info",
        "text": "This is a try-out: HR's reports do not count it, and it does not stand in "
        "the way of a real exit interview for this address. To hold a real one in the "
        "terminal, first record the departure with `exitbot invite me@example.com "
        "--last-day YYYY-MM-DD`, then run `exitbot chat --as me@example.com`.",
        "choices": [],
    }
    resumed = chat(tmp_path, [], "--as", "me@example.com")
    assert resumed[0] == en[0] and resumed[-1]["kind"] == "question"  # said again, on resuming


def test_the_real_interview_the_tryout_note_promises(tmp_path: Path) -> None:
    """After a try-out as me@example.com, what its note says: `exitbot invite` records the
    departure (not refused: the try-out was no interview), and `exitbot chat --as` then holds
    that departure's interview, which HR's export counts; the try-out it does not."""
    import sqlite3
    from datetime import date, timedelta

    tried = chat(tmp_path, [*TO_SUMMARY, "1"], "--as", "me@example.com")
    assert tried[-1]["kind"] == "outro"
    assert (
        "No exit interview has been completed yet."
        in exitbot(tmp_path, "export", "--anonymised", "out.csv").stdout
    )
    last_day = (date.today() + timedelta(days=10)).isoformat()
    recorded = exitbot(tmp_path, "invite", "me@example.com", "--last-day", last_day)
    assert recorded.stdout.startswith("Scheduled: the invite goes out"), recorded.stdout
    held = chat(tmp_path, [*TO_SUMMARY, "1"], "--as", "me@example.com")
    assert kinds(held[:2]) == ["intro", "question"]  # no try-out note
    assert held[-1]["kind"] == "outro"
    assert (
        "1 completed interview(s) are not in it yet"
        in exitbot(tmp_path, "export", "--anonymised", "out.csv").stdout
    )
    with sqlite3.connect(tmp_path / "chat.db") as db:
        rows = db.execute(
            "SELECT i.tryout, i.departure_id IS NOT NULL, i.status, count(f.id) FROM interviews i"
            " LEFT JOIN interview_facts f ON f.interview_id = i.id GROUP BY i.id ORDER BY i.id"
        ).fetchall()
    assert rows == [(1, 0, "completed", 0), (0, 1, "completed", 1)]
