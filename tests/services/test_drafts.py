"""Drafts of the log form: saved atomically, survive a crash, discarded on save."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from touchpoint.services import drafts
from touchpoint.services.drafts import LOG_INTERACTION, DraftStore

FIELDS = {
    "customer": "Acme GmbH",
    "kind": "call",
    "notes": "Wants a quote for 3 forklifts — before Friday",
    "satisfaction": 4,
    "followups": [{"title": "Send the quote", "due": "fri 10:00"}],
}


def test_a_saved_draft_comes_back_whole(tmp_path: Path) -> None:
    store = DraftStore(tmp_path)
    at = datetime(2026, 11, 18, 9, 30, tzinfo=UTC)
    path = store.save(LOG_INTERACTION, FIELDS, now=at)
    assert path == tmp_path / "drafts" / "log-interaction.json"

    draft = DraftStore(tmp_path).load(LOG_INTERACTION)
    assert draft is not None
    assert draft.fields == FIELDS
    assert draft.saved_at == at
    assert store.exists(LOG_INTERACTION)


def test_discard_removes_it_and_loading_nothing_gives_none(tmp_path: Path) -> None:
    store = DraftStore(tmp_path)
    assert store.load(LOG_INTERACTION) is None
    store.save(LOG_INTERACTION, FIELDS)
    store.discard(LOG_INTERACTION)
    assert store.load(LOG_INTERACTION) is None
    store.discard(LOG_INTERACTION)  # discarding twice is fine


def test_a_failed_write_leaves_the_previous_draft(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = DraftStore(tmp_path)
    store.save(LOG_INTERACTION, FIELDS)

    def crash(*_: object) -> None:
        raise OSError("disk pulled out")

    monkeypatch.setattr(drafts.os, "replace", crash)
    with pytest.raises(OSError):
        store.save(LOG_INTERACTION, {**FIELDS, "notes": "half typed"})
    monkeypatch.undo()

    draft = store.load(LOG_INTERACTION)
    assert draft is not None and draft.fields["notes"] == FIELDS["notes"]
    assert list(store.folder.glob(".*.partial")) == []


def test_an_unreadable_draft_is_set_aside_not_fatal(tmp_path: Path) -> None:
    store = DraftStore(tmp_path)
    store.folder.mkdir(parents=True)
    store.path(LOG_INTERACTION).write_text('{"format": 1, "fields": {"cust', encoding="utf-8")
    assert store.load(LOG_INTERACTION) is None
    assert (store.folder / "log-interaction.unreadable").exists()
    assert not store.exists(LOG_INTERACTION)


def test_leftover_temporary_files_are_cleaned(tmp_path: Path) -> None:
    store = DraftStore(tmp_path)
    store.save(LOG_INTERACTION, FIELDS)
    (store.folder / ".log-interaction.abc.partial").write_text("{", encoding="utf-8")
    assert store.clean_leftovers() == 1
    assert store.load(LOG_INTERACTION) is not None


def test_names_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a draft name"):
        DraftStore(tmp_path).save("../escape", {})


def test_a_process_killed_while_saving_leaves_a_whole_draft(tmp_path: Path) -> None:
    """SIGKILL a process that rewrites the draft in a loop: what is left always loads."""
    script = textwrap.dedent(
        f"""
        import sys
        from touchpoint.services.drafts import DraftStore
        store = DraftStore({str(tmp_path)!r})
        n = 0
        while True:
            n += 1
            store.save("log-interaction", {{"n": n, "notes": "x" * 20000}})
            if n == 3:
                print("ready", flush=True)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=os.environ.copy()
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    draft = DraftStore(tmp_path).load(LOG_INTERACTION)
    assert draft is not None
    assert draft.fields["n"] >= 3
    assert draft.fields["notes"] == "x" * 20000
