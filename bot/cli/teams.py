"""`exitbot teams-package`: the Teams app package (manifest + icons) to upload or pre-install.

The manifest template in `teams/` holds placeholders: `{{MicrosoftAppId}}` (the Azure Bot's
app id, also the Teams app id), `{{PublicUrl}}` (EXITBOT_PUBLIC_URL, for the developer links)
and `{{PublicHost}}` (its host, the valid domain).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

from bot.config import Settings

FILES = ("manifest.json", "color.png", "outline.png")
GUID = re.compile(r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("teams-package", help="build the Teams app zip (manifest + icons)")
    p.add_argument(
        "--out",
        type=Path,
        default=Path("exitbot-teams.zip"),
        help="zip to write (default %(default)s)",
    )
    p.add_argument("--app-id", help="the Azure Bot's app id (default MicrosoftAppId)")
    p.add_argument(
        "--source",
        type=Path,
        help="folder with manifest.json, color.png and outline.png (default: teams/ of ExitBot)",
    )
    p.set_defaults(handler=package)


def default_source() -> Path | None:
    candidates = (
        Path("teams"),
        Path(__file__).resolve().parents[2] / "teams",  # a source checkout
        Path(sys.prefix) / "share" / "exitbot" / "teams",  # the container image
    )
    for candidate in candidates:
        if (candidate / "manifest.json").is_file():
            return candidate
    return None


def app_id_problem(app_id: str, source: str) -> str | None:
    """What is wrong with the app id from `source` (the option or the variable), or None."""
    if not app_id:
        return (
            "set MicrosoftAppId (or --app-id) to the Azure Bot's application id "
            "(a GUID): Teams packages need it"
        )
    if not GUID.fullmatch(app_id):
        shown = app_id if len(app_id) <= 60 else app_id[:57] + "..."
        return (
            f"{source} {shown!r} is not a valid app id: the Azure Bot's application id is a "
            "GUID such as 00000000-0000-0000-0000-000000000000 (8-4-4-4-12 hexadecimal "
            "digits; the Azure portal shows it as 'Microsoft App ID')"
        )
    return None


def fill(template: str, values: dict[str, str]) -> dict[str, object]:
    """The manifest with its placeholders filled; ValueError names what is missing."""
    missing = sorted({name for name in PLACEHOLDER.findall(template) if name not in values})
    if missing:
        raise ValueError(f"no value for {', '.join(missing)}")
    filled = PLACEHOLDER.sub(lambda m: values[m.group(1)], template)
    manifest: dict[str, object] = json.loads(filled)
    return manifest


def package(args: argparse.Namespace, settings: Settings) -> int:
    app_id = (args.app_id or settings.teams_app_id).strip()
    problem = app_id_problem(app_id, "--app-id" if args.app_id else "MicrosoftAppId")
    if problem:
        print(f"exitbot: {problem}", file=sys.stderr)
        return 2
    source = args.source or default_source()
    if source is None or not all((source / name).is_file() for name in FILES):
        print(
            f"exitbot: {', '.join(FILES)} not found; pass --source with the teams/ folder "
            "of the ExitBot repository",
            file=sys.stderr,
        )
        return 2
    public = urlsplit(settings.public_url)
    if public.scheme != "https":
        print(
            "warning: EXITBOT_PUBLIC_URL is not https; Teams rejects http developer links. "
            "Set it to the bot's public https address before uploading.",
            file=sys.stderr,
        )
    values = {
        "MicrosoftAppId": app_id,
        "PublicUrl": settings.public_url,
        "PublicHost": public.hostname or "localhost",
    }
    try:
        manifest = fill((source / "manifest.json").read_text(encoding="utf-8"), values)
    except ValueError as exc:
        print(f"exitbot: {source / 'manifest.json'}: {exc}", file=sys.stderr)
        return 2
    out: Path = args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        # Teams wants the three files at the root of the zip, not in a folder.
        archive.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False))
        for name in FILES[1:]:
            archive.write(source / name, arcname=name)
    print(f"wrote {out} (app id {app_id}, manifest {manifest.get('manifestVersion')})")
    return 0
