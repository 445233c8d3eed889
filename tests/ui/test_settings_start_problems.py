"""The window's start when the database key is lost or the policy file is broken: a clear
message, the file kept, and never a silent empty database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from touchpoint.policy import load_policy
from touchpoint.services import customers
from touchpoint.storage.workspace import Workspace
from touchpoint.ui import start_problems

pytest.importorskip("sqlcipher3")


@pytest.fixture
def lost_key(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An encrypted database whose key is no longer in the keyring."""
    import keyring

    from touchpoint.storage import encryption, rekey

    with Workspace.open(data_dir, auto_backup=False) as ws:
        customers.create_customer(ws, {"name": "Only On This Laptop"})
    database = data_dir / "touchpoint.sqlite3"
    rekey.encrypt_in_place(database, data_dir / "backups")
    keyring.delete_password("touchpoint", encryption.key_account(database))
    return database


def test_a_lost_key_is_explained_and_nothing_happens_unless_asked(
    lost_key: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []
    monkeypatch.setattr(start_problems, "ask_to_start_again", lambda m: asked.append(m) or False)
    before = lost_key.read_bytes()
    assert start_problems.open_workspace(str(lost_key.parent)) is None
    assert f"The database {lost_key} is encrypted" in asked[0]
    assert "Start again from the Hub" in asked[0]
    assert lost_key.read_bytes() == before
    assert not list(lost_key.parent.glob("*.unreadable-*"))


def test_starting_again_keeps_the_file_and_opens_an_empty_database(
    lost_key: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    told: list[str] = []
    monkeypatch.setattr(start_problems, "ask_to_start_again", lambda _m: True)
    monkeypatch.setattr(start_problems, "tell", lambda m, critical=False: told.append(m))
    before = lost_key.read_bytes()
    ws = start_problems.open_workspace(str(lost_key.parent))
    assert ws is not None
    try:
        kept = next(lost_key.parent.glob("touchpoint.sqlite3.unreadable-*"))
        assert kept.read_bytes() == before
        assert f"moved to {kept}" in told[0] and "sync" in told[0]
        from touchpoint.services import demo

        assert demo.is_empty(ws)
    finally:
        ws.close()


def test_a_broken_policy_is_shown_over_the_window(
    qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PySide6.QtWidgets import QWidget

    policy = tmp_path / "policy.toml"
    policy.write_text("[hub]\nlockd = true\n", encoding="utf-8")
    window = QWidget()
    qtbot.addWidget(window)
    box = start_problems.show_policy_problem(window, load_policy(policy))
    assert box is not None and box.isVisible()
    assert "hub.lockd: is not a policy key" in box.informativeText()
    assert str(policy) in box.informativeText()
    box.close()
    assert start_problems.show_policy_problem(window, load_policy(tmp_path / "none")) is None


def test_a_policy_file_named_but_missing_is_shown_over_the_window(
    qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PySide6.QtWidgets import QWidget

    missing = tmp_path / "nope.toml"
    monkeypatch.setenv("TOUCHPOINT_POLICY_FILE", str(missing))
    window = QWidget()
    qtbot.addWidget(window)
    box = start_problems.show_policy_problem(window, load_policy())
    assert box is not None and box.isVisible()
    assert box.text() == "The policy file Touchpoint was told to use does not exist."
    assert f"TOUCHPOINT_POLICY_FILE ({missing}) does not exist" in box.informativeText()
    box.close()
