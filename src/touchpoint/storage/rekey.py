"""Turning encryption on or off for a closed database, a backup copy taken first.

Kept apart from :mod:`touchpoint.storage.encryption` (keys, connections, the rewrite
itself) and :mod:`touchpoint.storage.backup` (copies), which both stand below it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from touchpoint.errors import StorageError
from touchpoint.storage.backup import copy_database, stamp
from touchpoint.storage.encryption import (
    database_errors,
    driver,
    is_encrypted,
    key_for,
    new_key,
    rewrite,
    save_key,
    stored_key,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rekeyed:
    database: Path
    backup: Path  # the copy taken first
    encrypted: bool
    backups_encrypted: int = 0  # plain backups in the backup folder encrypted too


def encrypt_in_place(path: Path, backup_dir: Path) -> Rekeyed:
    """Encrypt the (closed) plain database at ``path``; its backup copy is made first.

    The key is stored in the keyring before the file is encrypted with it; an existing
    key for this database (from an earlier time it was encrypted) is reused, so older
    encrypted backups stay readable."""
    driver()  # refuse before touching anything when SQLCipher is missing
    if is_encrypted(path):
        raise StorageError(f"{path} is already encrypted")
    backup = copy_database(path, backup_dir / f"pre-encrypt-{stamp()}.sqlite3")
    key = stored_key(path) or new_key()
    save_key(path, key)
    rewrite(path, None, key)
    log.info("database %s encrypted", path)
    # The database is safe: now the plain copies beside it (the one just taken, the daily
    # ones) get the same key, so no readable copy of the data stays on the disk.
    done = 0
    for old in sorted(backup_dir.glob("*.sqlite3")):
        if is_encrypted(old):
            continue
        try:
            rewrite(old, None, key)
            done += 1
        except (StorageError, *database_errors(), OSError) as exc:
            log.error("backup %s could not be encrypted: %s", old.name, exc)
    return Rekeyed(path, backup, True, done)


def decrypt_in_place(path: Path, backup_dir: Path) -> Rekeyed:
    """Turn encryption off for the (closed) database at ``path``. The key stays in the
    keyring: the encrypted backups made until now still need it."""
    key = key_for(path)
    if key is None:
        raise StorageError(f"{path} is not encrypted")
    backup = copy_database(path, backup_dir / f"pre-decrypt-{stamp()}.sqlite3", key=key)
    rewrite(path, key, None)
    log.info("database %s decrypted; the encrypted copy taken first is %s", path, backup)
    return Rekeyed(path, backup, False)


def prepare(path: Path, backup_dir: Path, *, wanted: bool) -> str | None:
    """The key to open ``path`` with (None: plain), after bringing the file to the form
    ``wanted``: encrypted in place (after a backup) or decrypted in place.

    Runs before this process opens the database: SQLCipher and the standard sqlite3 are
    two copies of SQLite, whose file locks do not see each other within one process.
    A new database gets a fresh key, stored before the file exists. Raises MissingKeyError
    for an encrypted file without its key, EncryptionUnavailable when encryption is
    wanted and impossible."""
    key = key_for(path)
    if wanted and key is None:
        driver()
        if path.exists() and path.stat().st_size > 0:
            encrypt_in_place(path, backup_dir)
            return key_for(path)
        key = stored_key(path) or new_key()
        save_key(path, key)
        return key
    if not wanted and key is not None:
        decrypt_in_place(path, backup_dir)
        return None
    return key


__all__ = ["Rekeyed", "decrypt_in_place", "encrypt_in_place", "prepare"]
