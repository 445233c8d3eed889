"""The local database encrypted at rest with SQLCipher, its key in the OS keyring.

An encrypted database is an ordinary Touchpoint database whose every page SQLCipher
encrypts (AES-256, with an HMAC per page). Its key is 32 random bytes, kept as hex in
the OS keyring (service ``touchpoint``, account ``database-key:<database path>``) and
given to SQLCipher as a raw key, so opening it costs no key derivation. The key is
never written to a file, a log or a command line.

Turning encryption on (or off) rewrites the file in one safe sequence: a backup copy
first (:mod:`touchpoint.storage.rekey`), then ``sqlcipher_export`` into a new file
beside it, a check of that file, and an atomic rename over the original
(:func:`rewrite`). A crash at any point leaves a usable database: the original until
the rename, the encrypted one (whose key was stored first) after.

A file that is encrypted but whose key is missing is never replaced by a new empty
database: :class:`MissingKeyError` names it and the way out (``touchpoint encryption
recover`` moves it aside, keeping it, and starts a fresh database that syncs again
from the Hub).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from touchpoint.errors import StorageError

log = logging.getLogger(__name__)

SERVICE = "touchpoint"
ACCOUNT_PREFIX = "database-key:"
PLAIN_HEADER = b"SQLite format 3\x00"
_KEY_SHAPE = re.compile(r"[0-9a-f]{64}")


class EncryptionUnavailable(StorageError):
    """SQLCipher (the ``sqlcipher3`` package) cannot be loaded on this computer."""

    kind = "encryption_unavailable"


class MissingKeyError(StorageError):
    """The database is encrypted and this computer's keyring has no key for it."""

    kind = "key_missing"

    def __init__(self, path: Path) -> None:
        super().__init__(
            f"The database {path} is encrypted, and its key is not in this computer's "
            f"keyring (service '{SERVICE}', account '{key_account(path)}'). Nothing was "
            "changed. If the key cannot be restored into the keyring, run "
            "`touchpoint encryption recover`: it moves the file aside (it is kept, not "
            "deleted) and starts a new database that syncs again from the Hub; changes "
            "that were never synced stay in the file moved aside."
        )
        self.path = path


class WrongKeyError(StorageError):
    kind = "key_wrong"


# --- the driver --------------------------------------------------------------------------
def driver() -> ModuleType:
    """SQLCipher's DB-API module; EncryptionUnavailable with the reason when it is missing."""
    try:
        from sqlcipher3 import dbapi2
    except ImportError as exc:
        raise EncryptionUnavailable(
            "Encrypting the database needs SQLCipher (the Python package 'sqlcipher3'), "
            f"which cannot be loaded on this computer ({exc}). Install Touchpoint's full "
            "package, or ask your IT department."
        ) from exc
    return dbapi2


def available() -> bool:
    try:
        driver()
    except EncryptionUnavailable:
        return False
    return True


def is_encrypted(path: Path) -> bool:
    """True when ``path`` holds data but not SQLite's plain header (SQLCipher's first
    16 bytes are the random salt)."""
    try:
        with open(path, "rb") as f:
            head = f.read(len(PLAIN_HEADER))
    except FileNotFoundError:
        return False
    return len(head) > 0 and head != PLAIN_HEADER


# --- the key ----------------------------------------------------------------------------
def key_account(path: Path) -> str:
    return ACCOUNT_PREFIX + str(Path(path).expanduser().resolve())


def new_key() -> str:
    return secrets.token_hex(32)


def stored_key(path: Path) -> str | None:
    import keyring
    from keyring.errors import KeyringError

    try:
        key = keyring.get_password(SERVICE, key_account(path))
    except KeyringError as exc:
        log.error("the keyring cannot be read: %s", type(exc).__name__)
        return None
    return key if key and _KEY_SHAPE.fullmatch(key) else None


def save_key(path: Path, key: str) -> None:
    """Store the key and read it back: a keyring that drops it must fail here, before
    any file is encrypted with it."""
    import keyring
    from keyring.errors import KeyringError

    _check_key(key)
    try:
        keyring.set_password(SERVICE, key_account(path), key)
    except KeyringError as exc:
        raise StorageError(
            f"the database key cannot be stored in this computer's keyring ({exc}); "
            "nothing was encrypted"
        ) from exc
    if stored_key(path) != key:
        raise StorageError("the keyring did not keep the database key; nothing was encrypted")


def key_for(path: Path) -> str | None:
    """The key to open ``path`` with: None for a plain (or new) file; MissingKeyError for
    an encrypted file whose key is not in the keyring."""
    if not is_encrypted(path):
        return None
    key = stored_key(path)
    if key is None:
        raise MissingKeyError(path)
    return key


def _check_key(key: str) -> None:
    # The key goes into a PRAGMA: only ever the exact shape we generate.
    if not _KEY_SHAPE.fullmatch(key):
        raise ValueError("a database key is 64 lowercase hex digits")


def _key_sql(key: str) -> str:
    _check_key(key)
    return f"\"x'{key}'\""


# --- connections ----------------------------------------------------------------------------
def connect(
    path: Path | str,
    key: str | None,
    *,
    read_only: bool = False,
    check_same_thread: bool = True,
) -> Any:
    """A DB-API connection to ``path``: stdlib sqlite3 when ``key`` is None, else SQLCipher
    with the key applied first (and checked, so a wrong key fails here, clearly)."""
    uri = f"file:{path}?mode=ro" if read_only else f"file:{path}"
    if key is None:
        return sqlite3.connect(uri, uri=True, check_same_thread=check_same_thread)
    pragma = f"PRAGMA key = {_key_sql(key)}"  # checks the key's shape before any file opens
    dbapi = driver()
    conn = dbapi.connect(uri, uri=True, check_same_thread=check_same_thread)
    try:
        conn.execute(pragma)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except dbapi.DatabaseError as exc:
        conn.close()
        raise WrongKeyError(
            f"{path} cannot be opened with the key in this computer's keyring ({exc})"
        ) from exc
    return conn


def database_errors() -> tuple[type[BaseException], ...]:
    """The base error of both drivers, for code that may talk to either."""
    errors: list[type[BaseException]] = [sqlite3.Error]
    with contextlib.suppress(EncryptionUnavailable):
        errors.append(driver().Error)
    return tuple(errors)


# --- status -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class EncryptionStatus:
    database: Path
    encrypted: bool
    key_in_keyring: bool
    sqlcipher_available: bool
    sqlcipher_version: str | None


def status(path: Path) -> EncryptionStatus:
    version = None
    ok = available()
    if ok:
        conn = driver().connect(":memory:")
        try:
            row = conn.execute("PRAGMA cipher_version").fetchone()
            version = row[0] if row else None
        finally:
            conn.close()
    return EncryptionStatus(
        database=path,
        encrypted=is_encrypted(path),
        key_in_keyring=stored_key(path) is not None,
        sqlcipher_available=ok,
        sqlcipher_version=version,
    )


# --- rewriting the file: encrypt, decrypt ------------------------------------------------------
def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not possible on Windows; rename is durable there
        _fsync(folder)


def _fingerprint(conn: Any) -> dict[str, int]:
    """Rows per table: what must be the same before and after a rewrite."""
    tables = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}


def rewrite(path: Path, source_key: str | None, target_key: str | None) -> None:
    """Export ``path`` into a file with ``target_key`` (None: plain), check it, swap it in."""
    dbapi = driver()
    partial = path.with_name(path.name + ".rekey-partial")
    for leftover in (partial, Path(f"{partial}-journal"), Path(f"{partial}-wal")):
        leftover.unlink(missing_ok=True)
    src = dbapi.connect(str(path))
    try:
        src.isolation_level = None
        if source_key is not None:
            src.execute(f"PRAGMA key = {_key_sql(source_key)}")
        # Leaving WAL mode folds the WAL into the file and removes it, and SQLite allows
        # it only when no other connection (another Touchpoint window or command) has
        # the file open: the rewrite must never race a writer.
        src.execute("PRAGMA busy_timeout = 2000")
        try:
            mode = src.execute("PRAGMA journal_mode = DELETE").fetchone()[0]
        except dbapi.OperationalError:  # "database is locked"
            mode = "wal"
        if str(mode).lower() != "delete":
            raise StorageError(
                f"{path} is in use by another Touchpoint window or command; close them "
                "and try again (nothing was changed)"
            )
        before = _fingerprint(src)
        user_version = src.execute("PRAGMA user_version").fetchone()[0]
        attach_key = _key_sql(target_key) if target_key is not None else "''"
        src.execute(f"ATTACH DATABASE ? AS rekeyed KEY {attach_key}", (str(partial),))
        src.execute("SELECT sqlcipher_export('rekeyed')")
        src.execute(f"PRAGMA rekeyed.user_version = {int(user_version)}")
        src.execute("DETACH DATABASE rekeyed")
    finally:
        src.close()
    _fsync(partial)
    check = connect(partial, target_key)
    try:
        problems = [r[0] for r in check.execute("PRAGMA integrity_check") if r[0] != "ok"]
        after = _fingerprint(check)
    finally:
        check.close()
    if problems or after != before:
        partial.unlink(missing_ok=True)
        raise StorageError(
            f"the rewritten copy of {path} did not match it ({problems[:1] or 'row counts'}); "
            "the database was left as it was"
        )
    if is_encrypted(partial) != (target_key is not None):
        partial.unlink(missing_ok=True)
        raise StorageError(f"the rewritten copy of {path} is not what was asked; left as it was")
    # Out of WAL mode there is no WAL; a shared-memory file left over must not meet the
    # new file either.
    for side in ("-wal", "-shm"):
        Path(f"{path}{side}").unlink(missing_ok=True)
    os.replace(partial, path)
    _fsync_dir(path.parent)


def move_aside(path: Path, when: str) -> Path:
    """Move an unreadable database (and its WAL and shared memory) aside, keeping it."""
    target = path.with_name(f"{path.name}.unreadable-{when}")
    for side in ("-wal", "-shm"):
        extra = Path(f"{path}{side}")
        if extra.exists():
            os.replace(extra, Path(f"{target}{side}"))
    os.replace(path, target)
    _fsync_dir(path.parent)
    return target


__all__ = [
    "EncryptionStatus",
    "EncryptionUnavailable",
    "MissingKeyError",
    "WrongKeyError",
    "available",
    "connect",
    "driver",
    "is_encrypted",
    "key_for",
    "move_aside",
    "new_key",
    "rewrite",
    "save_key",
    "status",
    "stored_key",
]
