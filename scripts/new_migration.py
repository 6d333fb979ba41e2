"""Developer tool: autogenerate a migration from bot/models.py.

python scripts/new_migration.py "add web links"          # a new revision on top of head
python scripts/new_migration.py --replace-initial          # rebuild 0001 (before any release)
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

from alembic import command

from bot.db import Database
from bot.migrate import SCRIPTS, alembic_config, upgrade


def main(argv: list[str]) -> None:
    versions = SCRIPTS / "versions"
    replace = "--replace-initial" in argv
    if replace:
        for old in versions.glob("0001_*.py"):
            old.unlink()
    message = "initial schema" if replace else " ".join(a for a in argv if not a.startswith("--"))
    existing = sorted(p.name[:4] for p in versions.glob("[0-9][0-9][0-9][0-9]_*.py"))
    rev_id = "0001" if replace else f"{int(existing[-1]) + 1:04d}"
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'gen.db'}")
        if not replace:
            upgrade(db)
        engine = db.sync_engine()
        with engine.connect() as conn:
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.revision(cfg, message=message, autogenerate=True, rev_id=rev_id)
        engine.dispose()
    for path in versions.glob(f"{rev_id}_*.py"):
        text = path.read_text()
        text = re.sub(r"bot\.models\.UTCDateTime\([^)]*\)", "sa.DateTime(timezone=True)", text)
        text = re.sub(r"[ \t]*# ### (commands auto generated|end Alembic).*\n", "", text)
        path.write_text(text)
        print(f"wrote {path}")


if __name__ == "__main__":
    main(sys.argv[1:])
