"""The small CLI tools as users run them: questionnaire check, themes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

MODEL = Path(__file__).resolve().parents[2] / "conversations" / "forms" / "model.toml"


def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_questionnaire_check_accepts_the_model_form() -> None:
    result = run("questionnaire", "check", str(MODEL))
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout and "8 questions" in result.stdout
    assert "note:" not in result.stdout


GERMAN = """
id = "de-kurz"
version = "1"
default_language = "de"
languages = ["de"]

[phrases]
help.de = "Antworte einfach in deinen eigenen Worten."

[[questions]]
id = "main_reason"
type = "text"
text.de = "Was ist der wichtigste Grund, warum du gehst?"
short.de = "Hauptgrund"
"""


def test_questionnaire_check_names_the_sentences_a_language_gets_in_english(
    tmp_path: Path,
) -> None:
    """A German form without, say, `answer_changed`: valid, but its employees would read that
    sentence in English (the built-in form speaks en and nl). The check says which."""
    path = tmp_path / "de.toml"
    path.write_text(GERMAN, encoding="utf-8")
    result = run("questionnaire", "check", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    [ok, note] = result.stdout.splitlines()
    assert "OK" in ok and "languages de" in ok
    assert note.startswith(f"{path}: note: language de: ")
    assert "phrases.answer_changed" in note and "intro.invite" in note
    assert "phrases.help" not in note  # the form has it
    assert "under [" in note  # where to add it, without a second table header


def test_questionnaire_check_lists_every_problem_with_its_location(tmp_path: Path) -> None:
    text = MODEL.read_text(encoding="utf-8")
    broken = "colour = 'blue'\n" + text.replace('id = "valued_most"', 'id = "main_reason"', 1)
    path = tmp_path / "custom.toml"
    path.write_text(broken, encoding="utf-8")
    result = run("questionnaire", "check", str(path))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert len(lines) >= 2
    assert all(line.startswith(f"{path}: ") for line in lines)
    assert not any(line.startswith(f"{path}: {path}") for line in lines)
    assert any("main_reason" in line and "duplicate" in line.lower() for line in lines)
    assert any("colour" in line for line in lines)


def test_themes_prints_one_json_array_per_line() -> None:
    result = run(
        "themes",
        "--lang",
        "nl",
        stdin="De werkdruk was enorm en geen doorgroeimogelijkheden\nniets\n",
    )
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert rows == [["career_growth", "workload"], []]


def run_in(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("EXITBOT_", "SLACK_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={**clean, **env},
    )


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # nobody listens once it is closed


def test_start_up_failures_are_one_line_naming_the_cause(tmp_path: Path) -> None:
    """What stops the server from starting is said in one line, never as a traceback."""
    unreachable = f"postgresql://postgres@127.0.0.1:{closed_port()}/exitbot"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        cases = [
            (("db", "upgrade"), {"EXITBOT_DATABASE_URL": unreachable}, 1,
             "exitbot: the database cannot be reached: connection failed"),
            (("serve", "--port", port), {}, 1, "address already in use"),
            # an address of no interface here (TEST-NET-1): bind fails, nothing is sent
            (("serve", "--host", "192.0.2.1"), {}, 1, "cannot listen on 192.0.2.1:3978"),
            (("serve", "--port", "99999"), {}, 2, "a port is 0 to 65535, not 99999"),
            (("tick",), {"EXITBOT_QUESTIONNAIRE": str(tmp_path / "missing.toml")}, 2,
             "exitbot: EXITBOT_QUESTIONNAIRE: invalid questionnaire"),
            (("db", "upgrade"), {"EXITBOT_DATABASE_URL": "postgres://127.0.0.1"}, 2,
             "EXITBOT_DATABASE_URL names no database"),
        ]  # fmt: skip
        for args, env, code, says in cases:
            done = run_in(tmp_path, *args, **env)
            assert done.returncode == code, (args, done.stderr)
            assert says in done.stderr, (args, done.stderr)
            assert "Traceback" not in done.stderr, (args, done.stderr)


def test_commands_on_a_servers_data_refuse_a_directory_without_its_database(
    tmp_path: Path,
) -> None:
    """`exitbot tick` from cron (another working directory, no .env) made a new, empty
    SQLite database and key, then printed its counts as if all was well, for ever;
    `rotate-key` said "re-encrypted 0 value(s)" before the operator dropped the old key.
    Now they stop, naming the database they looked for and where."""
    for args in (("tick",), ("rotate-key",), ("forget", "anna@example.com"), ("links",)):
        done = run_in(tmp_path, *args)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert f"no database at {tmp_path / 'exitbot.db'}" in done.stderr, done.stderr
        assert f"no .env in {tmp_path}" in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
        assert done.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing made
    assert run_in(tmp_path, "rotate-key", "--new").returncode == 0  # only prints a key

    assert run_in(tmp_path, "db", "upgrade").returncode == 0
    done = run_in(tmp_path, "tick")
    assert done.returncode == 0, done.stderr
    assert "invites sent: 0" in done.stdout
