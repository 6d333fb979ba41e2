"""Everything a process needs, built once from settings: database, keys, form, service."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import conversations as conv
from adapters.base import Channel
from bot import migrate
from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.crypto import Cipher
from bot.db import Database
from bot.service import InterviewService

log = logging.getLogger(__name__)


def load_questionnaire(settings: Settings) -> conv.Questionnaire:
    if settings.questionnaire:
        form = conv.load_questionnaire(Path(settings.questionnaire))
        for line in conv.in_english_notes(form):
            log.warning("EXITBOT_QUESTIONNAIRE: %s", line)
        return form
    return conv.load_builtin()


def key_file_for(db: Database) -> Path | None:
    """Where a generated local key lives: next to the SQLite file."""
    path = db.sqlite_path
    return path.with_name(path.name + ".key") if path is not None else None


@dataclass(slots=True)
class Runtime:
    settings: Settings
    db: Database
    cipher: Cipher
    questionnaire: conv.Questionnaire
    service: InterviewService
    clock: Clock

    @classmethod
    def open(
        cls,
        settings: Settings,
        *,
        clock: Clock | None = None,
        channels: dict[str, Channel] | None = None,
        upgrade: bool = True,
    ) -> Runtime:
        """Build the runtime; applies pending migrations unless `upgrade` is False."""
        db = Database(settings.database_url)
        if upgrade:
            migrate.upgrade(db)
        cipher = Cipher.from_setting(settings.encryption_key, key_file_for(db))
        questionnaire = load_questionnaire(settings)
        clock = clock or SystemClock()
        service = InterviewService(settings, db, cipher, questionnaire, channels, clock)
        return cls(settings, db, cipher, questionnaire, service, clock)

    def add_channel(self, channel: Channel) -> None:
        self.service.channels[channel.name] = channel

    async def close(self) -> None:
        await self.service.close()
        await self.db.dispose()
