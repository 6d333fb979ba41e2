"""`exitbot teams-package`: the zip Teams admins upload, with the app id filled in."""

from __future__ import annotations

import json
import struct
import zipfile
from pathlib import Path

import pytest

from bot.cli import main

APP_ID = "11111111-2222-3333-4444-555555555555"


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_package_fills_the_manifest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MicrosoftAppId", APP_ID)
    monkeypatch.setenv("EXITBOT_PUBLIC_URL", "https://exitbot.example.com")
    out = tmp_path / "dist" / "app.zip"
    assert main(["teams-package", "--out", str(out)]) == 0
    assert str(out) in capsys.readouterr().out
    with zipfile.ZipFile(out) as archive:
        assert sorted(archive.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(archive.read("manifest.json"))
        assert png_size(archive.read("color.png")) == (192, 192)
        assert png_size(archive.read("outline.png")) == (32, 32)
    assert "{{" not in json.dumps(manifest)
    assert manifest["manifestVersion"] == "1.17"
    assert manifest["$schema"].endswith("/v1.17/MicrosoftTeams.schema.json")
    assert manifest["id"] == APP_ID
    [bot] = manifest["bots"]
    assert bot["botId"] == APP_ID
    assert bot["scopes"] == ["personal", "team"]
    assert (bot["supportsFiles"], bot["isNotificationOnly"]) == (False, False)
    personal = next(c for c in bot["commandLists"] if c["scopes"] == ["personal"])
    titles = [c["title"] for c in personal["commands"]]
    assert titles[:4] == ["start", "status", "approvals", "digest preview"]
    for command_list in bot["commandLists"]:
        assert len(command_list["commands"]) <= 10
        for command in command_list["commands"]:
            assert len(command["title"]) <= 32 and len(command["description"]) <= 128
    assert manifest["validDomains"] == ["exitbot.example.com"]
    assert manifest["developer"]["privacyUrl"] == "https://exitbot.example.com"
    assert len(manifest["name"]["short"]) <= 30
    assert len(manifest["description"]["short"]) <= 80
    assert manifest["icons"] == {"color": "color.png", "outline": "outline.png"}


def test_package_needs_an_app_id(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["teams-package", "--out", str(tmp_path / "app.zip")]) == 2
    assert "MicrosoftAppId" in capsys.readouterr().err
    assert not (tmp_path / "app.zip").exists()


@pytest.mark.parametrize(
    ("argv", "env", "named"),
    [
        (["--app-id", "notaguid"], {}, "--app-id 'notaguid'"),
        (["--app-id", APP_ID[:-1]], {"MicrosoftAppId": APP_ID}, f"--app-id '{APP_ID[:-1]}'"),
        ([], {"MicrosoftAppId": "my-teams-bot"}, "MicrosoftAppId 'my-teams-bot'"),
    ],
)
def test_package_names_an_app_id_that_is_not_a_guid(
    argv: list[str],
    env: dict[str, str],
    named: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Not "set MicrosoftAppId" (it is set): which value is wrong and what a right one is."""
    monkeypatch.delenv("MicrosoftAppId", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    out = tmp_path / "app.zip"
    assert main(["teams-package", "--out", str(out), *argv]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"exitbot: {named} is not a valid app id")
    assert "GUID" in line and "00000000-0000-0000-0000-000000000000" in line
    assert "set MicrosoftAppId" not in line
    assert not out.exists()


def test_outline_icon_is_white_on_transparent() -> None:
    import zlib

    data = (Path(__file__).resolve().parents[2] / "teams" / "outline.png").read_bytes()
    assert data[25] == 6  # colour type RGBA
    idat = data[data.index(b"IDAT") + 4 : data.index(b"IEND") - 8]
    raw = zlib.decompress(idat)
    pixels = [
        raw[1 + row * 129 + 4 * x : 1 + row * 129 + 4 * x + 4]
        for row in range(32)
        for x in range(32)
    ]
    assert all(p[:3] == b"\xff\xff\xff" for p in pixels)
    alphas = {p[3] for p in pixels}
    assert 0 in alphas and 255 in alphas
