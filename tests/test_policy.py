"""The machine policy: checked key by key, beats the user's settings, never stops a start."""

from __future__ import annotations

from pathlib import Path

import pytest

from touchpoint.errors import ValidationError
from touchpoint.policy import (
    check_export_format,
    check_hub_server,
    current_policy,
    effective_settings,
    load_policy,
    policy_path,
)
from touchpoint.settings import Settings, load_settings, save_settings
from touchpoint.storage.workspace import Workspace

GOOD = """
[hub]
server = "https://hub.example.com/"
locked = true
proxy = "http://proxy.corp.example:3128"

[database]
require_encryption = false

[export]
formats = ["csv", "vCard", "PDF"]

[support]
name = "IT Service Desk"
email = "help@example.com"
phone = "+49 30 1234 567"

[settings]
reminder_minutes_before = 45
sync_interval_minutes = 12
log_level = "warning"
"""


@pytest.fixture
def policy_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "etc" / "policy.toml"
    path.parent.mkdir()
    monkeypatch.setenv("TOUCHPOINT_POLICY_FILE", str(path))
    return path


def test_the_test_suite_never_reads_the_machine_policy() -> None:
    assert not str(policy_path()).startswith("/etc")
    assert current_policy().status == "absent"


def test_a_good_policy_is_read_and_normalised(policy_file: Path) -> None:
    policy_file.write_text(GOOD, encoding="utf-8")
    loaded = load_policy()
    assert loaded.status == "loaded" and loaded.problem is None
    policy = loaded.policy
    assert policy.hub.server == "https://hub.example.com"
    assert policy.hub.locked
    assert policy.export.formats == ("csv", "vcf", "pdf")
    assert policy.settings.given() == {
        "reminder_minutes_before": 45,
        "sync_interval_minutes": 12,
        "log_level": "WARNING",
    }
    assert loaded.who == "IT Service Desk (help@example.com)"


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("[hub]\nserverr = 'https://x'\n", "hub.serverr: is not a policy key"),
        ("[hubb]\nserver = 'https://x'\n", "hubb: is not a policy key"),
        ("[hub]\nserver = 'hub.example.com'\n", "hub.server: 'hub.example.com' is not an"),
        ("[hub]\nlocked = true\n", "locked = true needs server"),
        (
            "[hub]\nca_bundle = '/nowhere/ca.pem'\n",
            "hub.ca_bundle: '/nowhere/ca.pem' is not a file",
        ),
        ("[export]\nformats = ['csv', 'docx']\n", "export.formats: 'docx' is not one of"),
        ("[settings]\nreminder_minutes_before = -5\n", "settings.reminder_minutes_before: must be"),
        ("[settings]\nlog_level = 'LOUD'\n", "settings.log_level: 'LOUD' is not one of"),
        ("[settings]\ntimezone = 'Mars/Base'\n", "settings.timezone: 'Mars/Base' is not a known"),
        ("[database]\nrequire_encryption = 'maybe'\n", "database.require_encryption:"),
        ("[hub\nserver = 1", "is not valid TOML"),
    ],
)
def test_a_bad_policy_names_the_key_and_falls_back_to_defaults(
    policy_file: Path, text: str, named: str
) -> None:
    policy_file.write_text(text, encoding="utf-8")
    loaded = load_policy()
    assert loaded.status == "invalid"
    assert loaded.problem is not None
    assert str(policy_file) in loaded.problem
    assert named in loaded.problem, loaded.problem
    assert loaded.forced_settings() == {}
    assert loaded.policy.hub.locked is False


def test_an_unreadable_policy_is_reported(policy_file: Path) -> None:
    policy_file.mkdir()  # a folder where the file should be: reading it fails
    loaded = load_policy()
    assert loaded.status == "invalid"
    assert "cannot be read" in (loaded.problem or "")


def test_policy_beats_user_settings_and_says_where_each_came_from(
    policy_file: Path, tmp_path: Path
) -> None:
    settings_file = tmp_path / "settings.toml"
    save_settings(settings_file, Settings(user="maria@example.com", reminder_minutes_before=5))
    policy_file.write_text(GOOD, encoding="utf-8")
    effective = effective_settings(settings_file)
    assert effective.settings.reminder_minutes_before == 45  # the policy's, not the user's 5
    assert effective.settings.sync_interval_minutes == 12
    assert effective.settings.user == "maria@example.com"
    items = effective.items
    assert str(items["reminder_minutes_before"].source) == f"policy file {policy_file}"
    assert items["reminder_minutes_before"].locked
    assert str(items["user"].source) == f"settings file {settings_file}"
    assert not items["user"].locked
    assert items["hub.server"].value == "https://hub.example.com"
    assert items["hub.proxy"].source.kind == "policy"
    assert items["hub.ca_bundle"].source.kind == "default"
    assert "reminder_minutes_before" in effective.locked and "theme" not in effective.locked
    # Without a user file, the rest are defaults.
    bare = effective_settings(tmp_path / "none.toml")
    assert str(bare.items["theme"].source) == "default"


def test_the_workspace_runs_on_the_policy_and_never_writes_it_to_the_users_file(
    policy_file: Path, data_dir: Path
) -> None:
    policy_file.write_text(GOOD, encoding="utf-8")
    with Workspace.open(data_dir, auto_backup=False) as ws:
        assert ws.settings.reminder_minutes_before == 45
        assert ws.settings.sync_interval_minutes == 12
        from dataclasses import replace

        ws.update_settings(replace(ws.settings, display_name="Maria", reminder_minutes_before=7))
        assert ws.settings.reminder_minutes_before == 45
        assert ws.settings.display_name == "Maria"
    stored = load_settings(data_dir / "config" / "settings.toml")
    assert stored.display_name == "Maria"
    assert stored.reminder_minutes_before == Settings().reminder_minutes_before
    # The policy goes away: the user's own value is back.
    policy_file.unlink()
    with Workspace.open(data_dir, auto_backup=False) as ws:
        assert ws.settings.reminder_minutes_before == Settings().reminder_minutes_before


def test_a_broken_policy_does_not_stop_the_workspace(policy_file: Path, data_dir: Path) -> None:
    policy_file.write_text("[settings]\nreminder_minutes_before = 'soon'\n", encoding="utf-8")
    with Workspace.open(data_dir, auto_backup=False) as ws:
        assert ws.policy.status == "invalid"
        assert ws.settings.reminder_minutes_before == Settings().reminder_minutes_before


def test_export_formats_and_hub_address_are_enforced(policy_file: Path) -> None:
    policy_file.write_text(GOOD, encoding="utf-8")
    check_export_format("csv")
    check_export_format("vcf")
    with pytest.raises(ValidationError) as refused:
        check_export_format("xlsx")
    assert refused.value.field == "format"
    assert "not allowed by your IT department's policy" in refused.value.problem
    assert "allowed: csv, vcf, pdf" in refused.value.problem
    check_hub_server("https://HUB.example.com/")
    with pytest.raises(ValidationError) as other:
        check_hub_server("https://evil.example.com")
    assert other.value.field == "server"
    assert "allows only the Hub https://hub.example.com" in other.value.problem


def test_no_policy_allows_everything(policy_file: Path) -> None:
    check_export_format("xlsx")
    check_hub_server("https://anywhere.example.com")


def test_the_example_policy_in_resources_is_valid(tmp_path: Path) -> None:
    example = Path(__file__).parents[1] / "resources" / "policy.example.toml"
    text = example.read_text(encoding="utf-8")
    loaded = load_policy(example)
    assert loaded.status == "loaded", loaded.problem
    assert loaded.policy.hub.locked and loaded.policy.support.name == "IT Service Desk"
    # Its commented-out keys are valid too.
    ca = tmp_path / "ca.pem"
    ca.write_text("", encoding="utf-8")
    uncommented = "\n".join(
        line.removeprefix("# ")
        if line.startswith(
            (
                "# ca_bundle",
                "# proxy",
                "# timezone",
                "# default_region",
                "# currency",
                "# quiet_after",
                "# theme",
            )
        )
        else line
        for line in text.splitlines()
    ).replace("/etc/ssl/certs/corp-root-ca.pem", str(ca))
    full = tmp_path / "full.toml"
    full.write_text(uncommented, encoding="utf-8")
    loaded = load_policy(full)
    assert loaded.status == "loaded", loaded.problem
    assert loaded.policy.hub.ca_bundle == str(ca)
    assert loaded.forced_settings()["currency"] == "EUR"


def test_a_policy_file_named_but_missing_is_reported(policy_file: Path) -> None:
    loaded = load_policy()
    assert loaded.status == "absent" and loaded.checked is None
    assert loaded.problem is not None
    assert "TOUCHPOINT_POLICY_FILE" in loaded.problem and str(policy_file) in loaded.problem
    assert "does not exist" in loaded.problem


def test_the_default_policy_path_missing_stays_silent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TOUCHPOINT_POLICY_FILE", raising=False)
    loaded = load_policy()
    assert loaded.status == "absent" and loaded.problem is None


def test_each_problem_is_kept_apart_and_a_misspelt_key_names_the_one_meant(
    tmp_path: Path,
) -> None:
    file = tmp_path / "policy.toml"
    file.write_text('[suport]\nname = "IT"\n[database]\nrequire_encryptoin = true\n')
    loaded = load_policy(file)
    assert loaded.status == "invalid"
    assert sorted(loaded.problems) == [
        "database.require_encryptoin: is not a policy key "
        "(did you mean database.require_encryption?)",
        "suport: is not a policy key (did you mean support?)",
    ]
    assert all(p in (loaded.problem or "") for p in loaded.problems)
