from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.crypto import Cipher, CryptoKeyError
from bot.runtime import Runtime
from tests.support.departures import settings_for


def test_round_trip_and_ciphertext_hides_the_text() -> None:
    cipher = Cipher([Cipher.new_key()])
    token = cipher.encrypt("De werkdruk was te hoog")
    assert "werkdruk" not in token
    assert cipher.decrypt(token) == "De werkdruk was te hoog"


def test_rotation_old_keys_keep_reading_until_rotated() -> None:
    old, new = Cipher.new_key(), Cipher.new_key()
    token = Cipher([old]).encrypt("answer")
    both = Cipher([new, old])
    assert both.decrypt(token) == "answer"
    rotated = both.rotate(token)
    assert Cipher([new]).decrypt(rotated) == "answer"
    with pytest.raises(CryptoKeyError):
        Cipher([new]).decrypt(token)
    # rotate-key run with the old key left out: the same clear error, not InvalidToken
    with pytest.raises(CryptoKeyError, match="cannot be decrypted with any configured key"):
        Cipher([new]).rotate(token)


def test_invalid_key_is_named() -> None:
    with pytest.raises(CryptoKeyError, match="key 2 is not a valid Fernet key"):
        Cipher([Cipher.new_key(), "not-a-key"])


def test_local_key_file_is_generated_once_with_private_mode(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key_file = tmp_path / "exitbot.db.key"
    first = Cipher.from_setting(None, key_file)
    assert key_file.exists() and (key_file.stat().st_mode & 0o777) == 0o600
    assert "generated a local key" in caplog.text
    second = Cipher.from_setting(None, key_file)
    assert second.decrypt(first.encrypt("x")) == "x"


def test_setting_with_several_keys() -> None:
    a, b = Cipher.new_key(), Cipher.new_key()
    assert Cipher.from_setting(f"{a}, {b}", None).key_count == 2


async def test_a_new_sqlite_database_and_its_wal_are_private(tmp_path: Path) -> None:
    """The database holds names and addresses: owner only, like its key file, whatever the
    umask; a database that exists keeps the mode its owner gave it."""
    old_umask = os.umask(0o022)
    try:
        url = f"sqlite:///{tmp_path / 'data' / 'exitbot.db'}"
        runtime = Runtime.open(settings_for(url))
        try:
            await runtime.service.begin_chat(
                channel="console", email="anna@example.com", conversation_id="anna"
            )
            wal = tmp_path / "data" / "exitbot.db-wal"
            assert wal.exists() and (wal.stat().st_mode & 0o777) == 0o600
        finally:
            await runtime.close()
        database = tmp_path / "data" / "exitbot.db"
        assert (database.stat().st_mode & 0o777) == 0o600
        database.chmod(0o640)  # the owner's choice
        await Runtime.open(settings_for(url)).close()
        assert (database.stat().st_mode & 0o777) == 0o640
    finally:
        os.umask(old_umask)


def test_a_key_set_later_that_leaves_out_the_generated_one_names_its_file(
    tmp_path: Path,
) -> None:
    """Started without EXITBOT_ENCRYPTION_KEY (README: "Start here"), then set one made with
    `exitbot rotate-key --new`: what was stored cannot be read, and the error said only "was
    EXITBOT_ENCRYPTION_KEY changed?". It names the generated key file and the fix."""
    key_file = tmp_path / "exitbot.db.key"
    token = Cipher.from_setting(None, key_file).encrypt("answer")
    generated, new = key_file.read_text().strip(), Cipher.new_key()
    for act in (Cipher.decrypt, Cipher.rotate):
        with pytest.raises(CryptoKeyError) as error:
            act(Cipher.from_setting(new, key_file), token)
        assert str(key_file) in str(error.value) and generated not in str(error.value)
        assert "EXITBOT_ENCRYPTION_KEY=<your key>,<the key in exitbot.db.key>" in str(error.value)
        assert "exitbot rotate-key" in str(error.value)
    assert Cipher.from_setting(f"{new},{generated}", key_file).decrypt(token) == "answer"
    # data of another key altogether: the file is not blamed
    with pytest.raises(CryptoKeyError, match="cannot be decrypted with any configured key"):
        Cipher.from_setting(new, key_file).decrypt(Cipher([Cipher.new_key()]).encrypt("x"))
