"""The quick paths of text and email checks (an import checks every cell) give what the
full ones give: NFC-normalised, stripped text; an address as email_validator reads it."""

from __future__ import annotations

import unicodedata
from decimal import Decimal
from typing import Any

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given
from hypothesis import strategies as st

from touchpoint.domain import values as v
from touchpoint.errors import ValidationError


def _full_clean(value: object) -> str | None:
    """clean_text as it was before its ASCII path: every value normalised."""
    if value is None:
        return None
    return unicodedata.normalize("NFC", str(value)).strip() or None


HOSTILE = [
    None, "", " ", "\t\n", "  Acme  ", "Ac\u0301me", "e\u0301", "\u00e9", "\u00a0x\u00a0",
    "\u3000Tokyo\u3000", "\u200bzero", "a\x00b", "\ufeffBOM", "x\r\n", "ＡＢＣ", "ﬁ", "Å",
    "A\u030a", 5, 1.5, True,
]  # fmt: skip


@pytest.mark.parametrize("value", HOSTILE)
def test_clean_text_of_hostile_values_is_the_full_normalisation(value: object) -> None:
    assert v.clean_text(value) == _full_clean(value)  # type: ignore[arg-type]


@given(st.text())
def test_clean_text_of_any_text_is_the_full_normalisation(value: str) -> None:
    assert v.clean_text(value) == _full_clean(value)


def _email_validator(text: str) -> str | None:
    """email_validator's reading of the address (None: refused)."""
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError:
        return None


def _ours(text: str) -> str | None:
    try:
        return v.email("email", text)
    except ValidationError:
        return None


DOMAINS = [
    "example.com", "EXAMPLE.com", "test", "a.test", "latest", "my-test.org", "sub.a.TEST",
    "localhost", "x.localhost", "mylocalhost.net", "local", "sub.local", "onion", "a.onion",
    "onion.com", "invalid", "b.invalid", "in-addr.arpa", "arpa.org", "test.com", "xn--bcher-kva.de",
]  # fmt: skip


@pytest.mark.parametrize("domain", DOMAINS)
def test_special_use_domains_are_read_as_email_validator_reads_them(domain: str) -> None:
    for local in ("anna", "Anna.Lee", "postmaster", "a+b"):
        address = f"{local}@{domain}"
        assert _ours(address) == _email_validator(address), address


@given(
    st.from_regex(r"[A-Za-z0-9_%+-]{1,8}(\.[A-Za-z0-9]{1,3})?", fullmatch=True),
    st.lists(st.sampled_from(["a", "test", "local", "localhost", "onion", "arpa", "x-y", "com"])),
    st.sampled_from(["test", "com", "local", "localhost", "onion", "invalid", "arpa", "org"]),
)
def test_any_plain_address_is_read_as_email_validator_reads_it(
    local: str, labels: list[str], top: str
) -> None:
    address = f"{local}@{'.'.join([*labels, top])}"
    assert _ours(address) == _email_validator(address), address


def _refused(check: Any, field: str, text: str) -> tuple[str, str]:
    """(field, problem) of the ValidationError ``check(field, text)`` raises."""
    with pytest.raises(ValidationError) as caught:
        check(field, text)
    return caught.value.field, caught.value.problem


@pytest.mark.parametrize(
    "text",
    [
        ".",
        "..",
        "a..b.example",
        "http://.",
        "http://[",
        "https://" + "w" * 64 + ".de",
        "http://acme.de:http",
        "http://acme.de:70000",
        "ftp://acme.de",
        "www.",
    ],
)
def test_a_web_address_that_is_not_one_is_named_as_such(text: str) -> None:
    assert _refused(v.website, "website", text) == ("website", f"'{text}' is not a web address")


def test_web_addresses_get_their_scheme() -> None:
    assert v.website("website", "acme.de") == "https://acme.de"
    assert v.website("website", "http://acme.de:8080/shop") == "http://acme.de:8080/shop"
    assert v.website("website", "bücher.example") == "https://bücher.example"


@pytest.mark.parametrize("text", ["1e999", "9" * 40, "12345678901234567890123456789"])
def test_an_amount_too_large_to_keep_to_the_cent_is_named_as_such(text: str) -> None:
    assert _refused(v.money, "value", text) == ("value", f"'{text}' is too large an amount")
    assert v.money("value", "1,234.5") == Decimal("1234.50")
