"""The local database encrypted at rest with real SQLCipher: unreadable without its key,
the same data and search through it, encrypted in place safely, and a lost key that
never turns into a silent empty database."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from test_database import keeps_its_promises

from touchpoint.cli.main import cli
from touchpoint.cli.runtime import CliState
from touchpoint.errors import StorageError
from touchpoint.services import customers, interactions, maintenance, search
from touchpoint.storage import encryption, rekey
from touchpoint.storage.backup import integrity
from touchpoint.storage.workspace import Workspace

pytest.importorskip("sqlcipher3")


def _header(path: Path) -> bytes:
    return path.read_bytes()[:16]


def _plain_sqlite_fails(path: Path) -> None:
    conn = sqlite3.connect(path)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="not a database"):
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    finally:
        conn.close()


def _fill(ws: Workspace) -> None:
    acme = customers.create_customer(ws, {"name": "Acme Forklift GmbH"})
    customers.create_customer(ws, {"name": "Blue Harbour Ltd"})
    interactions.log_interaction(
        ws,
        customer=acme.value.id,
        kind="visit",
        notes="They want a quote for three electric pallet trucks",
        satisfaction=4,
    )


def _run(data_dir: Path, *args: str, code: int = 0):  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(
        cli,
        ["--data-dir", str(data_dir), *args],
        obj=CliState(auto_backup=False),
        catch_exceptions=False,
    )
    assert result.exit_code == code, result.stdout + result.stderr
    return result


@pytest.fixture
def policy_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "policy.toml"
    monkeypatch.setenv("TOUCHPOINT_POLICY_FILE", str(path))
    return path


def test_enable_encrypts_in_place_keeps_every_record_and_search_works(data_dir: Path) -> None:
    with Workspace.open(data_dir, auto_backup=False) as ws:
        _fill(ws)
        before = maintenance.status(ws).counts
        ws_hits = [h.record_id for h in search.search(ws, "pallet")]
        assert ws_hits
    database = data_dir / "touchpoint.sqlite3"
    assert _header(database) == encryption.PLAIN_HEADER
    out = _run(data_dir, "encryption", "enable").stdout
    assert f"Encrypted {database}." in out
    assert _header(database) != encryption.PLAIN_HEADER
    _plain_sqlite_fails(database)
    for side in ("-wal", "-shm"):
        assert (
            not Path(f"{database}{side}").exists() or Path(f"{database}{side}").stat().st_size == 0
        )
    # Every backup beside it is encrypted with the same key, the one taken first included.
    backups = sorted((data_dir / "backups").glob("*.sqlite3"))
    assert [b.name.startswith("pre-encrypt-") for b in backups] == [True]
    assert all(encryption.is_encrypted(b) for b in backups)
    key = encryption.stored_key(database)
    assert key is not None and len(key) == 64
    assert integrity(backups[0], key=key) == []
    with Workspace.open(data_dir, auto_backup=False) as ws:
        assert ws.db.key == key
        assert maintenance.status(ws).counts == before
        assert [h.record_id for h in search.search(ws, "pallet")] == ws_hits
        customers.create_customer(ws, {"name": "After Encryption AG"})
        assert [h.customer_name for h in search.search(ws, "encryption")] == ["After Encryption AG"]
        keeps_its_promises(ws)  # as a plain database does (test_database)
        with ws.db.engine.connect() as conn:  # and is as durable (no test cuts the power)
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        report = maintenance.check(ws)
        assert report.ok, report.problems
    status = _run(data_dir, "encryption", "status", "--json").stdout
    assert '"encrypted": true' in status and '"key_in_keyring": true' in status


def test_backup_and_restore_of_an_encrypted_database_stay_encrypted(data_dir: Path) -> None:
    _run(data_dir, "encryption", "enable")
    with Workspace.open(data_dir, auto_backup=False) as ws:
        customers.create_customer(ws, {"name": "In The Backup"})
        copy = maintenance.backup(ws, data_dir.parent / "copy.sqlite3")
        customers.create_customer(ws, {"name": "Not In The Backup"})
    assert encryption.is_encrypted(copy)
    _plain_sqlite_fails(copy)
    maintenance.restore(data_dir, copy)
    with Workspace.open(data_dir, auto_backup=False) as ws:
        names = {h.customer_name for h in search.search(ws, "backup")}
    assert names == {"In The Backup", "Not In The Backup"} - {"Not In The Backup"}
    assert encryption.is_encrypted(data_dir / "touchpoint.sqlite3")


def test_a_crash_before_the_swap_leaves_the_original_usable(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Workspace.open(data_dir, auto_backup=False) as ws:
        _fill(ws)
    database = data_dir / "touchpoint.sqlite3"

    def power_cut(*_args: object) -> None:
        raise OSError("power cut")

    monkeypatch.setattr(encryption.os, "replace", power_cut)
    with pytest.raises(OSError, match="power cut"):
        rekey.encrypt_in_place(database, data_dir / "backups")
    monkeypatch.undo()
    assert _header(database) == encryption.PLAIN_HEADER
    with Workspace.open(data_dir, auto_backup=False) as ws:
        assert ws.db.key is None
        assert len(search.search(ws, "pallet")) == 1
    # Trying again works, and cleans up what the failed try left.
    rekey.encrypt_in_place(database, data_dir / "backups")
    assert not list(data_dir.glob("*.rekey-partial"))
    with Workspace.open(data_dir, auto_backup=False) as ws:
        assert len(search.search(ws, "pallet")) == 1


def test_a_missing_key_is_a_clear_error_and_never_a_new_empty_database(
    data_dir: Path,
) -> None:
    with Workspace.open(data_dir, auto_backup=False) as ws:
        _fill(ws)
    _run(data_dir, "encryption", "enable")
    database = data_dir / "touchpoint.sqlite3"
    import keyring

    keyring.delete_password("touchpoint", encryption.key_account(database))
    before = database.read_bytes()
    with pytest.raises(encryption.MissingKeyError) as missing:
        Workspace.open(data_dir, auto_backup=False)
    assert str(database) in missing.value.message
    assert "touchpoint encryption recover" in missing.value.message
    assert database.read_bytes() == before
    refused = _run(data_dir, "status", code=1)
    assert f"error: The database {database} is encrypted" in refused.stderr
    assert "KEY MISSING" in _run(data_dir, "encryption", "status").stdout
    assert database.read_bytes() == before

    out = _run(data_dir, "encryption", "recover").stdout
    kept = next(data_dir.glob("touchpoint.sqlite3.unreadable-*"))
    assert kept.read_bytes() == before  # moved aside, never deleted
    assert f"moved to {kept}" in out and "sync" in out
    with Workspace.open(data_dir, auto_backup=False) as ws:
        assert maintenance.status(ws).counts["customer"] == 0
    # With the key back (found in an old keyring), the file moved aside opens again.
    assert integrity(kept, key=None) != []


def test_recover_refuses_a_database_that_opens(data_dir: Path) -> None:
    refused = _run(data_dir, "encryption", "recover", code=1)
    assert "nothing to recover" in refused.stderr
    assert not list(data_dir.glob("*.unreadable-*"))


def test_disable_decrypts_in_place_and_keeps_the_key(data_dir: Path) -> None:
    with Workspace.open(data_dir, auto_backup=False) as ws:
        _fill(ws)
    _run(data_dir, "encryption", "enable")
    database = data_dir / "touchpoint.sqlite3"
    key = encryption.stored_key(database)
    _run(data_dir, "encryption", "disable")
    assert _header(database) == encryption.PLAIN_HEADER
    assert encryption.stored_key(database) == key  # the encrypted backups still need it
    conn = sqlite3.connect(database)
    assert conn.execute("SELECT count(*) FROM customers").fetchone()[0] == 2
    conn.close()


def test_policy_requires_encryption_at_start(data_dir: Path, policy_file: Path) -> None:
    with Workspace.open(data_dir, auto_backup=False) as ws:
        _fill(ws)
    policy_file.write_text("[database]\nrequire_encryption = true\n", encoding="utf-8")
    with Workspace.open(data_dir, auto_backup=False) as ws:
        assert ws.db.key is not None
        assert len(search.search(ws, "pallet")) == 1
    database = data_dir / "touchpoint.sqlite3"
    assert encryption.is_encrypted(database)
    assert list((data_dir / "backups").glob("pre-encrypt-*.sqlite3"))
    refused = _run(data_dir, "encryption", "disable", code=1)
    assert "policy" in refused.stderr and str(policy_file) in refused.stderr


def test_policy_requires_encryption_for_a_new_database(tmp_path: Path, policy_file: Path) -> None:
    policy_file.write_text("[database]\nrequire_encryption = true\n", encoding="utf-8")
    with Workspace.open(tmp_path / "fresh", auto_backup=False) as ws:
        customers.create_customer(ws, {"name": "Secret Customer"})
        database = ws.paths.database
    assert encryption.is_encrypted(database)
    assert b"Secret Customer" not in database.read_bytes()


def test_policy_requirement_without_sqlcipher_refuses_and_leaves_the_file(
    data_dir: Path, policy_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy_file.write_text("[database]\nrequire_encryption = true\n", encoding="utf-8")
    database = data_dir / "touchpoint.sqlite3"
    before = database.read_bytes()

    def missing() -> None:
        raise encryption.EncryptionUnavailable("SQLCipher cannot be loaded (test)")

    monkeypatch.setattr(encryption, "driver", missing)
    with pytest.raises(encryption.EncryptionUnavailable) as refused:
        Workspace.open(data_dir, auto_backup=False)
    assert str(policy_file) in refused.value.message
    assert "requires the database to be encrypted" in refused.value.message
    assert database.read_bytes() == before
    assert encryption.status(database).sqlcipher_available is False


def test_the_key_is_only_ever_hex(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        encryption.connect(tmp_path / "x.sqlite3", "'; DROP TABLE customers; --")
    assert os.path.exists(tmp_path / "x.sqlite3") is False


HOLDER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1])
conn.execute("SELECT count(*) FROM customers").fetchone()
print("ready", flush=True)
sys.stdin.readline()
"""


def test_enable_is_refused_while_another_process_has_the_database(data_dir: Path) -> None:
    import subprocess
    import sys

    with Workspace.open(data_dir, auto_backup=False) as ws:
        _fill(ws)
    database = data_dir / "touchpoint.sqlite3"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(database)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        with pytest.raises(StorageError, match="in use by another Touchpoint"):
            rekey.encrypt_in_place(database, data_dir / "backups")
    finally:
        holder.communicate("\n", timeout=30)
    assert _header(database) == encryption.PLAIN_HEADER
    with Workspace.open(data_dir, auto_backup=False) as ws:
        assert len(search.search(ws, "pallet")) == 1


def test_the_setting_encrypts_at_the_next_start_and_unsetting_decrypts(data_dir: Path) -> None:
    with Workspace.open(data_dir, auto_backup=False) as ws:
        _fill(ws)
    _run(data_dir, "config", "set", "encrypt_database", "yes")
    database = data_dir / "touchpoint.sqlite3"
    assert not encryption.is_encrypted(database)  # nothing happens until it is opened
    with Workspace.open(data_dir, auto_backup=False) as ws:
        assert ws.db.key is not None
        assert len(search.search(ws, "pallet")) == 1
    assert encryption.is_encrypted(database)
    _run(data_dir, "config", "set", "encrypt_database", "no")
    with Workspace.open(data_dir, auto_backup=False) as ws:
        assert ws.db.key is None
        assert len(search.search(ws, "pallet")) == 1
    assert not encryption.is_encrypted(database)


def test_diagnostics_read_an_encrypted_database_and_say_when_its_key_is_missing(
    data_dir: Path,
) -> None:
    import keyring

    from touchpoint.paths import resolve_paths
    from touchpoint.services import diagnostics

    with Workspace.open(data_dir, auto_backup=False) as ws:
        _fill(ws)
    _run(data_dir, "encryption", "enable")
    paths = resolve_paths(data_dir)
    health = diagnostics.database_health(paths)
    assert health["encrypted"] is True and health["key_in_keyring"] is True
    assert health["quick_check"] == "ok"
    assert health["counts"]["customers"] == 2
    assert "error" not in diagnostics.sync_state(paths)
    keyring.delete_password("touchpoint", encryption.key_account(paths.database))
    health = diagnostics.database_health(paths)
    assert health["key_in_keyring"] is False
    assert "is encrypted, and its key is not in this computer's keyring" in health["error"]


def test_asking_for_encryption_without_sqlcipher_is_refused(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def missing() -> None:
        raise encryption.EncryptionUnavailable("SQLCipher cannot be loaded (test)")

    monkeypatch.setattr(encryption, "driver", missing)
    refused = _run(data_dir, "config", "set", "encrypt_database", "yes", code=1)
    assert "error: encrypt_database: this computer cannot encrypt" in refused.stderr
    refused = _run(data_dir, "encryption", "enable", code=1)
    assert "SQLCipher cannot be loaded" in refused.stderr
    assert not encryption.is_encrypted(data_dir / "touchpoint.sqlite3")


def test_an_import_into_an_encrypted_database_writes_in_bulk(
    data_dir: Path, tmp_path: Path
) -> None:
    """SQLCipher's driver cannot tell its limit of bound values: a bulk load still writes
    many rows to a statement (once it failed on asking)."""
    from touchpoint.services.importing import import_customers_csv

    _run(data_dir, "encryption", "enable")
    export = tmp_path / "export.csv"
    lines = ["Company,Phone,Email"]
    lines += [f"Kunde {i} Bau GmbH,+49 30 5550{i:04d},info@kunde{i}.de" for i in range(300)]
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")
    ws = Workspace.open(data_dir, auto_backup=False)
    try:
        assert ws.db.key is not None
        report = import_customers_csv(ws, export)
        assert (report.created_customers, report.errors) == (300, []), report
        assert {hit.entity for hit in search.search(ws, "Kunde 117")} == {"customer"}
    finally:
        ws.close()


def test_indexes_a_first_sync_left_out_are_sorted_in_memory_when_encrypted(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLCipher does not encrypt the sorter's temporary files: the identity index's keys
    (e-mail addresses, phone numbers) never go to one."""
    from touchpoint.storage import deferred_indexes

    _run(data_dir, "encryption", "enable")
    ws = Workspace.open(data_dir, auto_backup=False)
    try:
        assert ws.db.key is not None
        _fill(ws)
        with ws.db.write_session() as session:
            deferred_indexes.defer(session.connection())
            session.commit()
        stores: list[int] = []
        real = deferred_indexes.build

        def build(conn: Any) -> list[str]:
            driver = conn.connection.driver_connection
            stores.append(driver.execute("PRAGMA temp_store").fetchone()[0])
            return real(conn)

        monkeypatch.setattr(deferred_indexes, "build", build)
        deferred_indexes.build_pending(ws.db)
        assert stores == [2]  # MEMORY
        with ws.db.read() as session:
            assert deferred_indexes.deferred(session.connection()) == []
        assert [hit.entity for hit in search.search(ws, "Acme Forklift")][:1] == ["customer"]
    finally:
        ws.close()
