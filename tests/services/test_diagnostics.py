"""The diagnostics zip: what a support ticket needs, and no customer data or secrets."""

from __future__ import annotations

import json
import logging
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from touchpoint.cli.main import cli
from touchpoint.errors import ValidationError
from touchpoint.logs import setup_logging
from touchpoint.services import demo
from touchpoint.services.diagnostics import scrub, write_diagnostics
from touchpoint.storage.models import Contact, Customer
from touchpoint.storage.workspace import Workspace
from touchpoint.sync import credentials
from touchpoint.sync.engine import EMAIL_KEY, SERVER_KEY, waiting_count, write_meta

SERVER = "https://hub.example.com"
TOKEN = "Zx3kQ9v_Lw2mN8pR4tY6uI1oP0aS5dF7gH-jK2lZ9xC"  # shaped like a real device token
EXPECTED = {
    "README.txt",
    "versions.json",
    "settings.json",
    "database.json",
    "sync.json",
    "log-tail.txt",
}


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {n.split("/", 1)[1]: archive.read(n) for n in archive.namelist()}


@pytest.fixture
def demo_ws(ws: Workspace) -> Workspace:
    demo.generate_demo(ws, customers=25, contacts=60, interactions=150, followups=40, deals=10)
    credentials.save_token(SERVER, "maria@example.com", TOKEN)
    with ws.unit_of_work(origin="remote") as uow:
        write_meta(uow.session, SERVER_KEY, SERVER)
        write_meta(uow.session, EMAIL_KEY, "maria@example.com")
        uow.commit()
    return ws


def test_the_bundle_holds_the_expected_files_and_no_customer_data_or_secrets(
    demo_ws: Workspace, tmp_path: Path
) -> None:
    ws = demo_ws
    with ws.read() as s:
        names = [n for n in s.scalars(select(Customer.name)) if len(n) >= 5]
        names += [n for n in s.scalars(select(Contact.name)) if len(n) >= 5]
        emails = [
            e["value"]
            for model in (Customer, Contact)
            for listed in s.scalars(select(model.emails))
            for e in listed
        ]
        phones = [
            p["value"]
            for model in (Customer, Contact)
            for listed in s.scalars(select(model.phones))
            for p in listed
        ]
    assert len(names) > 30 and len(emails) > 10 and len(phones) > 10
    # Even if something slipped into the log, the tail is scrubbed.
    setup_logging(ws.paths.log_file)
    logging.getLogger("touchpoint.test").warning(
        "request failed: Authorization: Bearer %s password=%s contact %s at +49 30 1234567",
        TOKEN,
        "hunter2-very-secret",
        emails[0],
    )
    logging.getLogger("touchpoint.test").info("device token %s kept", TOKEN)

    out = tmp_path / "ticket.zip"
    report = write_diagnostics(ws.paths, out)

    assert report.path == out and report.integrity == "ok"
    assert not list(tmp_path.glob("*.partial"))
    files = members(out)
    assert set(files) == EXPECTED
    raw = out.read_bytes()
    everything = b"\n".join(files.values()).decode("utf-8")
    for secret in (TOKEN, "hunter2-very-secret", "+49 30 1234567"):
        assert secret not in everything and secret.encode() not in raw
    for name in names:
        assert name not in everything and name.encode() not in raw, name
    for email in emails:
        assert email not in everything and email.encode() not in raw, email
    for phone in phones:
        assert phone not in everything, phone

    versions = json.loads(files["versions.json"])
    assert {"touchpoint", "python", "sqlite", "sqlalchemy", "pyside6", "qt", "os"} <= set(versions)
    database = json.loads(files["database.json"])
    assert database["quick_check"] == "ok"
    assert database["schema_revision"] == ws.schema_version == database["schema_expected"]
    assert database["counts"]["customers"] == 25 and database["counts"]["contacts"] == 60
    sync = json.loads(files["sync.json"])
    assert sync["server"] == SERVER and sync["signed_in"] is True
    assert sync["changes_waiting"] == waiting_count(ws)
    assert sync["changes_rejected"] == sync["changes_rejected_not_dismissed"] == 0
    assert sync["conflicts"] == sync["conflicts_open"] == 0
    assert sync["last_sync"] is None
    tail = files["log-tail.txt"].decode()
    assert "Authorization: ***" in tail and "password=***" in tail and "<email>" in tail


def test_settings_show_their_values(demo_ws: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "ticket.zip"
    write_diagnostics(demo_ws.paths, out)
    settings = json.loads(members(out)["settings.json"])["settings"]
    timezone = settings["timezone"]
    assert (timezone["value"] if isinstance(timezone, dict) else timezone) == "Europe/Berlin"


def test_the_log_tail_keeps_the_last_lines_across_rotated_files(
    ws: Workspace, tmp_path: Path
) -> None:
    logs = ws.paths.log_dir
    (logs / "touchpoint.log.2").write_text("".join(f"old {i}\n" for i in range(1500)))
    (logs / "touchpoint.log.1").write_text("".join(f"mid {i}\n" for i in range(1500)))
    (logs / "touchpoint.log").write_text("".join(f"new {i}\n" for i in range(100)))
    out = tmp_path / "ticket.zip"
    write_diagnostics(ws.paths, out)
    lines = members(out)["log-tail.txt"].decode().splitlines()
    assert len(lines) == 2000
    assert lines[0] == "old 1100" and lines[400] == "mid 0" and lines[-1] == "new 99"


def test_a_damaged_database_is_reported_not_fatal(ws: Workspace, tmp_path: Path) -> None:
    paths = ws.paths
    ws.close()
    paths.database.write_bytes(b"this is not a database" * 100)
    for extra in ("-wal", "-shm"):
        Path(str(paths.database) + extra).unlink(missing_ok=True)
    out = tmp_path / "ticket.zip"
    report = write_diagnostics(paths, out)
    database = json.loads(members(out)["database.json"])
    assert "error" in database and report.integrity != "ok"
    assert paths.database.read_bytes() == b"this is not a database" * 100  # left untouched


def test_a_bad_out_names_the_option_and_leaves_nothing(ws: Workspace, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="--out"):
        write_diagnostics(ws.paths, tmp_path / "missing" / "ticket.zip")
    with pytest.raises(ValidationError, match="--out"):
        write_diagnostics(ws.paths, tmp_path)
    assert not list(tmp_path.glob("*.zip")) and not list(tmp_path.glob(".*.partial"))


def test_the_command_writes_the_zip(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "support.zip"
    result = CliRunner().invoke(
        cli, ["--data-dir", str(data_dir), "diagnostics", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "no customer data and no secrets" in result.output
    assert set(members(out)) == EXPECTED
    bad = CliRunner().invoke(
        cli, ["--data-dir", str(data_dir), "diagnostics", "--out", str(tmp_path / "no" / "x.zip")]
    )
    assert bad.exit_code == 1 and "error: --out:" in bad.output


def test_scrub_keeps_ids_and_times_and_removes_secrets() -> None:
    line = (
        "2026-11-24 01:31:01,123 INFO touchpoint.sync [42] device "
        "2cd5105e-eaa3-4513-9039-915321a8bb27 token=abc123 "
        "proxy http://bob:pw@proxy.corp:3128 key: 0123456789abcdef0123456789abcdef"
    )
    clean = scrub(line)
    assert clean.startswith("2026-11-24 01:31:01,123 INFO")
    assert "2cd5105e-eaa3-4513-9039-915321a8bb27" in clean
    assert "abc123" not in clean and "bob" not in clean and "pw@" not in clean
    assert "0123456789abcdef" not in clean
