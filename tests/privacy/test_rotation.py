"""Key rotation: the new key first re-encrypts everything; then the old key can go."""

from __future__ import annotations

from bot import keys
from bot.clock import FrozenClock
from bot.crypto import Cipher
from bot.runtime import Runtime
from tests.digest.support import NOV, Persona, ReportChannel, interview, settings_for, stored_values

SECRET = "Het salaris was te laag en de werkdruk te hoog"


async def test_after_rotation_the_old_key_is_no_longer_needed(sqlite_url: str) -> None:
    old, new = Cipher.new_key(), Cipher.new_key()
    rt = Runtime.open(
        settings_for(sqlite_url, key=old),
        clock=FrozenClock(NOV),
        channels={"console": ReportChannel("console")},
    )
    try:
        await interview(rt, "anna@example.com", Persona(suggest=SECRET))
        await interview(rt, "bob@example.com", Persona(), confirm=False)  # state still open
    finally:
        await rt.close()

    rt = Runtime.open(settings_for(sqlite_url, key=f"{new},{old}"), clock=FrozenClock(NOV))
    try:
        assert keys.rotate(rt.db, rt.cipher, batch=3) > 0
    finally:
        await rt.close()

    rt = Runtime.open(
        settings_for(sqlite_url, key=new),
        clock=FrozenClock(NOV),
        channels={"console": ReportChannel("console")},
    )
    try:
        values = await stored_values(rt)
        encrypted = [v for table, column, v in values if column.endswith("_enc")]
        assert encrypted and not any(v.startswith("<undecryptable") for v in encrypted)
        assert any(SECRET in v for v in encrypted)
        # Bob can resume his interview with only the new key configured.
        resumed = await rt.service.begin_chat(
            channel="console", email="bob@example.com", conversation_id="bob@example.com"
        )
        assert resumed.messages and resumed.messages[-1].kind == "summary"
    finally:
        await rt.close()

    rt = Runtime.open(settings_for(sqlite_url, key=old), clock=FrozenClock(NOV))
    try:
        assert all(
            v.startswith("<undecryptable")
            for _, c, v in await stored_values(rt)
            if c.endswith("_enc")
        )
    finally:
        await rt.close()
