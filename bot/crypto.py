"""Answer text at rest: Fernet tokens, several keys for rotation (newest first)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

log = logging.getLogger(__name__)


class CryptoKeyError(ValueError):
    """EXITBOT_ENCRYPTION_KEY holds something that is not a Fernet key."""


class Cipher:
    """Encrypts with the first key, decrypts with any of them."""

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise CryptoKeyError("EXITBOT_ENCRYPTION_KEY: no key given")
        fernets = []
        for position, key in enumerate(keys, start=1):
            try:
                fernets.append(Fernet(key.strip().encode()))
            except (ValueError, TypeError):
                raise CryptoKeyError(
                    f"EXITBOT_ENCRYPTION_KEY: key {position} is not a valid Fernet key "
                    "(32 url-safe base64-encoded bytes; make one with `exitbot rotate-key --new`)"
                ) from None
        self._multi = MultiFernet(fernets)
        self._primary = fernets[0]
        self.key_count = len(fernets)
        # The key generated before EXITBOT_ENCRYPTION_KEY was set, when it is not among the
        # configured ones: only to say so when what it encrypted cannot be read
        self._left_out: tuple[Path, MultiFernet] | None = None

    @classmethod
    def from_setting(cls, value: str | None, key_file: Path | None) -> Cipher:
        """Keys from the setting; else from (or into) a local key file, with a warning."""
        if value:
            cipher = cls([k for k in value.split(",") if k.strip()])
            if key_file is not None and key_file.exists():
                cipher._remember_left_out(key_file, value)
            return cipher
        if key_file is None:
            raise CryptoKeyError(
                "EXITBOT_ENCRYPTION_KEY must be set for this database "
                "(make one with `exitbot rotate-key --new`, and keep it safe)"
            )
        if not key_file.exists():
            key_file.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(Fernet.generate_key().decode() + "\n")
            log.warning(
                "EXITBOT_ENCRYPTION_KEY is not set: generated a local key in %s. "
                "Back it up, or set EXITBOT_ENCRYPTION_KEY in production.",
                key_file,
            )
        return cls([k for k in key_file.read_text().split(",") if k.strip()])

    def _remember_left_out(self, key_file: Path, value: str) -> None:
        configured = {k.strip() for k in value.split(",")}
        try:
            written = key_file.read_text().split(",")
            left_out = [k.strip() for k in written if k.strip() and k.strip() not in configured]
            self._left_out = (key_file, MultiFernet([Fernet(k.encode()) for k in left_out]))
        except (OSError, ValueError, TypeError):  # unreadable, none left out, or not a key
            self._left_out = None

    def _no_key(self, token: str) -> CryptoKeyError:
        """The error for a token no configured key opens; naming the generated key file
        when that key does (the key set later replaced it instead of joining it)."""
        if self._left_out is not None:
            key_file, left_out = self._left_out
            try:
                left_out.decrypt(token.encode("ascii"))
            except InvalidToken:
                pass
            else:
                return CryptoKeyError(
                    "stored data was encrypted with the key generated in "
                    f"{key_file} before EXITBOT_ENCRYPTION_KEY was set, and that key is not "
                    "in EXITBOT_ENCRYPTION_KEY: add it after yours "
                    f"(EXITBOT_ENCRYPTION_KEY=<your key>,<the key in {key_file.name}>), then "
                    "run `exitbot rotate-key`"
                )
        return CryptoKeyError(_NO_KEY)

    @staticmethod
    def new_key() -> str:
        return Fernet.generate_key().decode()

    def encrypt(self, plain: str) -> str:
        return self._primary.encrypt(plain.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._multi.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise self._no_key(token) from None

    def rotate(self, token: str) -> str:
        try:
            return self._multi.rotate(token.encode("ascii")).decode("ascii")
        except InvalidToken:  # `exitbot rotate-key` with the old key left out
            raise self._no_key(token) from None


_NO_KEY = (
    "stored data cannot be decrypted with any configured key "
    "(was EXITBOT_ENCRYPTION_KEY changed without keeping the old key?)"
)
