"""`touchpoint login` never sends a password over plain http:// to another computer."""

from __future__ import annotations

from pathlib import Path

import pytest


def test_plain_http_is_refused_before_the_password_is_read(tp) -> None:
    result = tp(
        "login", "--server", "http://hub.example.com", "--email", "maria@example.com",
        input="secret-password\n", code=1,
    )  # fmt: skip
    assert result.stderr.startswith("error: server: http://hub.example.com is not encrypted")
    assert "--allow-http" in result.stderr
    assert "secret-password" not in result.output + result.stderr


def test_allow_http_lets_it_through_to_the_network(tp) -> None:
    # An address nothing answers on: the refusal is gone, the network error remains.
    result = tp(
        "login", "--server", "http://hub.invalid:9", "--email", "maria@example.com",
        "--allow-http", input="secret-password\n", code=1,
    )  # fmt: skip
    assert "not encrypted" not in result.stderr
    assert "cannot reach the Hub at http://hub.invalid:9" in result.stderr


def test_the_policy_can_allow_plain_http(
    tp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text("[hub]\nallow_http = true\n", encoding="utf-8")
    monkeypatch.setenv("TOUCHPOINT_POLICY_FILE", str(policy))
    result = tp(
        "login", "--server", "http://hub.invalid:9", "--email", "maria@example.com",
        input="secret-password\n", code=1,
    )  # fmt: skip
    assert "not encrypted" not in result.stderr
    assert "cannot reach the Hub at http://hub.invalid:9" in result.stderr
    shown = tp.json("policy", "show")["settings"]["hub.allow_http"]
    assert shown["value"] is True and shown["source"] == "policy"
