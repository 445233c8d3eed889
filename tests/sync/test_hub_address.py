"""Which Hub addresses a password may be sent to."""

from __future__ import annotations

from pathlib import Path

import pytest

from touchpoint.policy import load_policy
from touchpoint.sync.hub_address import PlainHttpRefused, check_hub_address, is_loopback


@pytest.mark.parametrize(
    "server",
    [
        "https://hub.example.com",
        "https://10.0.0.5:8600",
        "http://127.0.0.1:8600",
        "http://127.1.2.3",
        "http://localhost:8600/",
        "http://[::1]:8600",
        "HTTPS://HUB.EXAMPLE.COM",
    ],
)
def test_https_and_this_computer_pass(server: str) -> None:
    check_hub_address(server)


@pytest.mark.parametrize(
    ("server", "host"),
    [
        ("http://hub.example.com", "hub.example.com"),
        ("http://10.0.0.5:8600", "10.0.0.5"),
        ("HTTP://Hub.Example.com:8600/", "hub.example.com"),
        ("http://localhost.evil.com", "localhost.evil.com"),
        ("http://[2001:db8::1]:8600", "2001:db8::1"),
    ],
)
def test_plain_http_to_another_computer_is_refused(server: str, host: str) -> None:
    with pytest.raises(PlainHttpRefused) as refused:
        check_hub_address(server)
    assert refused.value.field == "server" and refused.value.host == host
    assert "not encrypted" in refused.value.message and "https://" in refused.value.message
    check_hub_address(server, allow_http=True)  # the user said so


def test_the_policy_may_allow_plain_http(tmp_path: Path) -> None:
    allowed = tmp_path / "allowed.toml"
    allowed.write_text("[hub]\nallow_http = true\n", encoding="utf-8")
    check_hub_address("http://hub.example.com", loaded=load_policy(allowed))
    refused = tmp_path / "refused.toml"
    refused.write_text("[hub]\nallow_http = false\n", encoding="utf-8")
    with pytest.raises(PlainHttpRefused):
        check_hub_address("http://hub.example.com", loaded=load_policy(refused))


def test_loopback_names() -> None:
    assert is_loopback("localhost") and is_loopback("127.0.0.1") and is_loopback("::1")
    assert not is_loopback("hub.example.com") and not is_loopback("192.168.1.2")
