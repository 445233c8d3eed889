"""``backup``, ``restore``, ``check`` and ``config``."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest


@pytest.fixture
def outdir(tmp_path: Path) -> Path:
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def test_backup_into_the_backups_folder_and_to_a_file(tp, data_dir: Path, tmp_path: Path) -> None:
    made = Path(tp("backup").stdout.strip())
    assert made.parent == data_dir.resolve() / "backups"
    assert made.exists()
    out = tmp_path / "copy.sqlite3"
    assert tp("backup", "--out", str(out)).stdout.strip() == str(out)
    assert out.exists()
    folder = tmp_path / "folder"
    folder.mkdir()
    into = Path(tp("backup", "--out", str(folder)).stdout.strip())
    assert into.parent == folder and into.suffix == ".sqlite3"


def test_restore_brings_back_the_backup(tp, tmp_path: Path) -> None:
    tp.add_customer("Acme GmbH")
    copy = tmp_path / "before-bolt.sqlite3"
    tp("backup", "--out", str(copy))
    tp.add_customer("Bolt AG")
    out = tp("restore", str(copy), "--yes").stdout
    assert f"restored {copy}" in out
    assert "the replaced database is kept at" in out
    names = [c["name"] for c in tp.json("customer", "list")["customers"]]
    assert names == ["Acme GmbH"]


def test_restore_asks_first(tp, tmp_path: Path) -> None:
    tp.add_customer("Acme GmbH")
    copy = tmp_path / "copy.sqlite3"
    tp("backup", "--out", str(copy))
    tp.add_customer("Bolt AG")
    before = tp.changes()
    result = tp("restore", str(copy), code=1)  # not a terminal: --yes is needed
    assert "add --yes" in result.stderr
    assert tp.changes() == before


def test_restore_refuses_what_is_not_a_backup(tp, tmp_path: Path) -> None:
    tp.add_customer("Acme GmbH")
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"this is not a database at all" * 100)
    before = tp.changes()
    result = tp("restore", str(junk), "--yes", code=1)
    assert result.stderr == f"error: {junk} is not a Touchpoint database or backup\n"
    # A text file is no encrypted database, whatever its first bytes.
    text = tmp_path / "passwd"
    text.write_text("root:x:0:0:root:/root:/bin/bash\n" * 64)
    result = tp("restore", str(text), "--yes", code=1)
    assert result.stderr == f"error: {text} is not a Touchpoint database or backup\n"
    # A plain SQLite file of some other program.
    other = tmp_path / "other.sqlite3"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE notes (body TEXT)")
    conn.commit()
    conn.close()
    result = tp("restore", str(other), "--yes", code=1)
    assert result.stderr == f"error: {other} is not a Touchpoint database or backup\n"
    # Random pages may be an encrypted database whose key is elsewhere: both are said.
    pages = tmp_path / "pages.bin"
    pages.write_bytes(bytes(range(256)) * 32)
    result = tp("restore", str(pages), "--yes", code=1)
    assert "is not a Touchpoint database or backup, or it is encrypted" in result.stderr
    # A missing file is said before --yes is asked for.
    missing = tmp_path / "missing.sqlite3"
    result = tp("restore", str(missing), code=1)
    assert result.stderr == f"error: {missing} does not exist\n"
    assert tp.changes() == before
    assert tp.json("customer", "list")["total"] == 1


def test_check_ok_then_damaged_then_repaired(tp, data_dir: Path) -> None:
    tp.add_customer("Acme GmbH")
    report = tp.json("check")
    assert report["ok"] is True and report["problems"] == []
    assert report["integrity"] == "ok" and report["search_index"] == "ok"
    assert report["counts"]["customer"] == 1
    assert "everything is in order" in tp("check").stdout
    conn = sqlite3.connect(data_dir / "touchpoint.sqlite3")
    with conn:
        conn.execute("DROP TRIGGER search_fts_names_au")  # change a document behind the index
        conn.execute("UPDATE search_docs SET title = 'Zebra'")
    conn.close()
    damaged = tp("check", "--json", code=1)
    assert '"search_index": "out of step"' in damaged.stdout
    assert "problem: the search index" in tp("check", code=1).stderr
    repaired = tp.json("check", "--repair")
    assert repaired["ok"] is True and repaired["repaired"] is True


def test_config_show_get_set(tp, data_dir: Path) -> None:
    shown = tp.json("config", "show")
    assert shown["settings"]["user"] == "maria@example.com"
    assert shown["settings"]["timezone"] == "Europe/Berlin"
    assert shown["file"] == str(data_dir.resolve() / "config" / "settings.toml")
    assert tp("config", "get", "timezone").stdout == "Europe/Berlin\n"
    tp("config", "set", "timezone", "America/New_York")
    tp("config", "set", "quiet-after-days", "45")
    tp("config", "set", "currency", "eur")
    tp("config", "set", "default_region", "fr")
    tp("config", "set", "theme", "Dark")
    tp("config", "set", "display_name", "Maria Schmidt")
    settings = tp.json("config", "show")["settings"]
    assert settings["timezone"] == "America/New_York"
    assert settings["quiet_after_days"] == 45
    assert settings["currency"] == "EUR"
    assert settings["default_region"] == "FR"
    assert settings["theme"] == "dark"
    assert settings["display_name"] == "Maria Schmidt"
    assert tp.json("status")["timezone"] == "America/New_York"
    assert "quiet_after_days" in tp("config", "show").stdout


def test_config_refuses_bad_values_and_writes_nothing(tp, data_dir: Path) -> None:
    settings_file = data_dir / "config" / "settings.toml"
    before = settings_file.read_bytes()
    cases = {
        ("timezone", "Mars/Olympus"): "error: timezone: 'Mars/Olympus' is not a known time zone",
        ("quiet_after_days", "soon"): "error: quiet_after_days: 'soon' is not a whole number",
        ("reminder_minutes_before", "-1"): "error: reminder_minutes_before: must be between",
        ("theme", "neon"): "error: theme: 'neon' is not one of: system, light, dark",
        ("currency", "euro"): "error: currency: 'euro' is not a three-letter currency code",
        ("default_region", "XX"): "error: default_region: 'XX' is not a country code",
        ("user", "maria@"): "error: user: ",
        ("colour", "red"): "error: colour: is not a setting",
    }
    for (key, value), message in cases.items():
        result = tp("config", "set", key, value, code=1)
        assert result.stderr.startswith(message), result.stderr
    assert settings_file.read_bytes() == before
    tp("config", "get", "colour", code=1)


def test_demo_fills_an_empty_database_and_refuses_a_full_one(tp) -> None:
    report = tp.json("demo", "--customers", "4", "--seed", "3")
    assert report["counts"]["customer"] == 4
    assert report["counts"]["interaction"] > 0
    assert report["seconds"] >= 0
    status = tp.json("status")
    assert status["counts"]["customer"] == 4
    before = tp.changes()
    result = tp("demo", "--customers", "4", code=1)
    assert "already holds data" in result.stderr and "--force" in result.stderr
    assert tp.changes() == before
    out = tp("demo", "--customers", "2", "--seed", "4", "--force").stdout
    assert out.startswith("made ") and "2 customers" in out
    assert tp.json("status")["counts"]["customer"] == 6
    tp("demo", "--customers", "0", code=2)


def test_restore_on_a_terminal_asks(tp, tmp_path: Path, monkeypatch) -> None:
    from touchpoint.cli import data

    monkeypatch.setattr(data, "is_tty", lambda stream=None: True)
    tp.add_customer("Acme GmbH")
    copy = tmp_path / "copy.sqlite3"
    tp("backup", "--out", str(copy))
    tp.add_customer("Bolt AG")
    declined = tp("restore", str(copy), input="n\n", code=1)
    assert "Replace the database with" in declined.stdout
    assert tp.json("customer", "list")["total"] == 2
    tp("restore", str(copy), input="y\n")
    assert tp.json("customer", "list")["total"] == 1


def test_backup_out_refuses_a_missing_folder_and_writes_owner_only(tp, outdir: Path) -> None:
    missing = outdir / "typo" / "deeper"
    refused = tp("backup", "--out", str(missing / "copy.sqlite3"), code=1)
    assert refused.stderr == f"error: --out: folder {missing} does not exist\n"
    assert not (outdir / "typo").exists()
    out = outdir / "copy.sqlite3"
    tp("backup", "--out", str(out))
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    into = Path(tp("backup", "--out", str(outdir)).stdout.strip())
    assert stat.S_IMODE(into.stat().st_mode) == 0o600
    assert [p.name for p in outdir.iterdir() if p.name.endswith(".part")] == []


@pytest.mark.parametrize(
    "failure",
    [
        PermissionError(13, "Permission denied"),
        sqlite3.OperationalError("unable to open database file"),
    ],
)
def test_backup_out_says_what_the_system_refused_on_one_line(
    tp, outdir: Path, monkeypatch: pytest.MonkeyPatch, failure: Exception
) -> None:
    from touchpoint.storage import backup as backups

    def refuse(*args: object, **kwargs: object) -> None:
        raise failure

    monkeypatch.setattr(backups, "copy_database", refuse)
    out = outdir / "copy.sqlite3"
    refused = tp("backup", "--out", str(out), code=1)
    reason = "Permission denied" if isinstance(failure, OSError) else str(failure)
    assert refused.stderr == f"error: --out: cannot write {out}: {reason}\n"
    assert list(outdir.iterdir()) == []


def test_diagnostics_out_refuses_a_missing_folder_and_writes_owner_only(
    tp, outdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = outdir / "typo"
    refused = tp("diagnostics", "--out", str(missing / "ticket.zip"), code=1)
    assert refused.stderr == f"error: --out: folder {missing} does not exist\n"
    assert not missing.exists()
    out = outdir / "ticket.zip"
    tp("diagnostics", "--out", str(out))
    assert stat.S_IMODE(out.stat().st_mode) == 0o600

    def full(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    refused = tp("diagnostics", "--out", str(outdir / "again.zip"), code=1)
    assert refused.stderr == (
        f"error: --out: cannot write {outdir / 'again.zip'}: No space left on device\n"
    )
    assert sorted(p.name for p in outdir.iterdir()) == ["ticket.zip"]
