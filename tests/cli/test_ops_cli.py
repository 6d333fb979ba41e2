"""The small CLI tools as users run them: questionnaire check, themes."""

from __future__ import annotations

import json
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
