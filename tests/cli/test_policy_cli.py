"""``touchpoint policy show`` and a locked ``config set``, as an IT department sees them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

POLICY = """
[hub]
server = "https://hub.example.com"
locked = true

[export]
formats = ["csv"]

[support]
name = "IT Service Desk"
email = "help@example.com"

[settings]
reminder_minutes_before = 45
"""


@pytest.fixture
def policy_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "policy.toml"
    monkeypatch.setenv("TOUCHPOINT_POLICY_FILE", str(path))
    return path


def test_policy_show_prints_each_value_and_where_it_came_from(tp, policy_file: Path) -> None:
    policy_file.write_text(POLICY, encoding="utf-8")
    tp("config", "set", "theme", "dark")
    shown = tp.json("policy", "show")
    assert shown["policy_status"] == "loaded"
    assert shown["policy_file"] == str(policy_file)
    settings = shown["settings"]
    assert settings["reminder_minutes_before"] == {
        "value": 45,
        "source": "policy",
        "file": str(policy_file),
        "locked": True,
    }
    assert settings["theme"]["value"] == "dark"
    assert settings["theme"]["source"] == "settings"
    assert settings["theme"]["locked"] is False
    assert settings["currency"]["source"] == "default"
    assert settings["hub.server"]["value"] == "https://hub.example.com"
    assert settings["export.formats"]["value"] == ["csv"]
    text = tp("policy", "show").stdout
    assert f"Policy file: {policy_file} (in force)" in text
    line = next(x for x in text.splitlines() if x.startswith("reminder_minutes_before"))
    assert "45" in line and f"policy file {policy_file}" in line and "locked" in line
    assert "settings file" in next(x for x in text.splitlines() if x.startswith("theme"))


def test_config_set_refuses_a_locked_setting_and_names_who_locked_it(
    tp, policy_file: Path, data_dir: Path
) -> None:
    policy_file.write_text(POLICY, encoding="utf-8")
    settings_file = data_dir / "config" / "settings.toml"
    before = settings_file.read_bytes()
    refused = tp("config", "set", "reminder-minutes-before", "5", code=1)
    assert refused.stderr.startswith(
        f"error: reminder_minutes_before: is set by your IT department's policy ({policy_file})"
    )
    assert "ask IT Service Desk (help@example.com)" in refused.stderr
    assert settings_file.read_bytes() == before
    assert tp("config", "get", "reminder_minutes_before").stdout == "45\n"
    assert "45 (locked by policy)" in tp("config", "show").stdout
    tp("config", "set", "quiet_after_days", "40")  # an unlocked one still works


def test_a_broken_policy_is_a_warning_and_the_command_still_runs(tp, policy_file: Path) -> None:
    policy_file.write_text("[hub]\nsever = 'https://typo'\n", encoding="utf-8")
    result = tp("status")
    assert result.stderr.startswith(f"warning: policy file {policy_file}: hub.sever:")
    assert "built-in defaults" in result.stderr
    shown = tp.json("policy", "show")
    assert shown["policy_status"] == "invalid"
    assert "hub.sever: is not a policy key" in shown["problem"]


def test_export_in_a_format_the_policy_forbids_is_refused(
    tp, policy_file: Path, tmp_path: Path
) -> None:
    policy_file.write_text(POLICY, encoding="utf-8")
    tp.add_customer("Acme GmbH")
    out = tmp_path / "a.xlsx"
    refused = tp("export", "activity", "--format", "xlsx", "--out", str(out), code=1)
    assert "error: format: xlsx exports are not allowed by your IT department's policy" in (
        refused.stderr
    )
    assert not out.exists()
    tp("export", "activity", "--format", "csv", "--out", str(tmp_path / "a.csv"))
    refused = tp("export", "contacts", "--out", str(tmp_path / "c.vcf"), code=1)
    assert "vcf exports are not allowed" in refused.stderr
    refused = tp("report", "daily", "--format", "pdf", "--out", str(tmp_path / "d.pdf"), code=1)
    assert "pdf exports are not allowed" in refused.stderr


def test_login_to_another_hub_is_refused_when_the_policy_locks_it(tp, policy_file: Path) -> None:
    policy_file.write_text(POLICY, encoding="utf-8")
    refused = tp(
        "login", "--server", "https://other.example.com", "--email", "m@example.com", code=1
    )
    assert refused.stderr.startswith(
        f"error: server: your IT department's policy ({policy_file}) allows only the Hub "
        "https://hub.example.com"
    )
    from touchpoint.errors import ValidationError
    from touchpoint.storage.workspace import Workspace
    from touchpoint.sync.engine import sign_in

    with Workspace.open(tp.data_dir, auto_backup=False) as ws, pytest.raises(ValidationError):
        sign_in(ws, "https://other.example.com", "m@example.com", "secret")


def test_the_hub_client_uses_the_policys_ca_bundle_and_proxy(
    policy_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import certifi
    import httpx

    from touchpoint.sync.transport import HubClient

    policy_file.write_text(
        f'[hub]\nca_bundle = "{certifi.where()}"\nproxy = "http://proxy.corp.example:3128"\n',
        encoding="utf-8",
    )
    seen: dict[str, object] = {}
    real = httpx.Client

    def spy(**kwargs: object) -> httpx.Client:
        seen.update(kwargs)
        return real(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(httpx, "Client", spy)
    HubClient("https://hub.example.com").close()
    import ssl

    context = seen["verify"]
    assert isinstance(context, ssl.SSLContext)
    assert context.cert_store_stats()["x509_ca"] > 0  # the bundle's CAs are loaded
    assert seen["proxy"] == "http://proxy.corp.example:3128"
    policy_file.unlink()
    HubClient("https://hub.example.com").close()
    assert seen["proxy"] is None
    # Without a bundle: the default CAs, in one context made once for every client.
    default = seen["verify"]
    assert isinstance(default, ssl.SSLContext) and default is not context
    assert default.verify_mode == ssl.CERT_REQUIRED and default.check_hostname
    assert default.cert_store_stats()["x509_ca"] > 0
    HubClient("https://other.example.com").close()
    assert seen["verify"] is default


def test_the_log_level_comes_from_the_policy(tp, policy_file: Path) -> None:
    import logging

    root = logging.getLogger()
    before = root.level
    try:
        policy_file.write_text('[settings]\nlog_level = "WARNING"\n', encoding="utf-8")
        tp("policy", "show")
        assert root.level == logging.WARNING
        policy_file.write_text('[settings]\nlog_level = "DEBUG"\n', encoding="utf-8")
        tp("policy", "show")
        assert root.level == logging.DEBUG
    finally:
        root.setLevel(before)


def test_a_missing_policy_file_named_by_the_environment_is_a_warning(tp, policy_file: Path) -> None:
    shown = tp("policy", "show")
    assert shown.stderr.startswith(
        f"warning: the policy file named by TOUCHPOINT_POLICY_FILE ({policy_file}) does not exist"
    )
    assert f"Problem: the policy file named by TOUCHPOINT_POLICY_FILE ({policy_file})" in (
        shown.stdout
    )


def test_no_policy_at_the_default_place_is_silent(tp, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TOUCHPOINT_POLICY_FILE", raising=False)
    shown = tp("policy", "show")
    assert shown.stderr == "" and "(none (built-in defaults))" in shown.stdout


def test_policy_check_names_each_problem_and_the_key_meant(tp, tmp_path: Path) -> None:
    bad = tmp_path / "policy.toml"
    bad.write_text(
        '[hub]\nsever = "https://hub.example.com"\n'
        '[exprot]\nformats = ["csv"]\n'
        "[settings]\nremider_minutes_before = 5\nquiet_after_days = -3\n",
        encoding="utf-8",
    )
    result = tp("policy", "check", str(bad), code=1)
    lines = result.stderr.splitlines()
    assert f"error: {bad}: hub.sever: is not a policy key (did you mean hub.server?)" in lines
    assert f"error: {bad}: exprot: is not a policy key (did you mean export?)" in lines
    assert (
        f"error: {bad}: settings.remider_minutes_before: is not a policy key "
        "(did you mean settings.reminder_minutes_before?)"
    ) in lines
    assert any(line.startswith(f"error: {bad}: settings.quiet_after_days: ") for line in lines)
    assert lines[-1] == f"{bad} would be ignored: Touchpoint would run on its built-in defaults"
    data = json.loads(tp("policy", "check", str(bad), "--json", code=1).stdout)
    assert data["valid"] is False and len(data["problems"]) == 4
    # a key nothing is close to gets no guess
    bad.write_text("[hub]\nwhatever = 1\n", encoding="utf-8")
    alone = tp("policy", "check", str(bad), code=1).stderr.splitlines()[0]
    assert alone == f"error: {bad}: hub.whatever: is not a policy key"


def test_policy_check_passes_a_good_file_and_fails_a_missing_or_broken_one(
    tp, tmp_path: Path
) -> None:
    good = tmp_path / "policy.toml"
    good.write_text(POLICY, encoding="utf-8")
    result = tp("policy", "check", str(good))
    assert result.stdout == (
        f"{good} is a valid policy; it sets export.formats, hub.locked, hub.server, "
        "settings.reminder_minutes_before, support.email, support.name\n"
    )
    assert tp.json("policy", "check", str(good))["valid"] is True
    missing = tmp_path / "nope.toml"
    assert tp("policy", "check", str(missing), code=1).stderr.startswith(
        f"error: {missing}: does not exist\n"
    )
    broken = tmp_path / "broken.toml"
    broken.write_text("[hub\n", encoding="utf-8")
    assert (
        f"error: {broken}: is not valid TOML" in tp("policy", "check", str(broken), code=1).stderr
    )


def test_policy_show_points_to_check_for_an_invalid_file(tp, policy_file: Path) -> None:
    policy_file.write_text("[hub]\nsever = 'https://typo'\n", encoding="utf-8")
    shown = tp("policy", "show").stdout
    assert "INVALID" in shown
    assert f"Each problem, one a line: touchpoint policy check {policy_file}" in shown


def test_a_format_the_policy_forbids_is_refused_as_the_policys_doing(
    tp, policy_file: Path, tmp_path: Path
) -> None:
    policy_file.write_text(POLICY, encoding="utf-8")
    out = tmp_path / "c.xlsx"
    for args in (
        ("export", "customers", "--format", "xlsx", "--out", str(out)),
        ("export", "customers", "--out", str(out)),
        ("export", "followups", "--out", str(out)),
        ("report", "daily", "--format", "xlsx", "--out", str(out)),
    ):
        refused = tp(*args, code=1)
        assert refused.stderr.startswith(
            "error: format: xlsx exports are not allowed by your IT department's policy "
            f"({policy_file})"
        ), refused.stderr
        assert "is not 'csv'" not in refused.stderr
    assert not out.exists()
