"""Phone numbers are read once per text and region: the answer (the number, or why it
is refused) is the same the second time, from the memory of the first."""

from __future__ import annotations

import pytest

from touchpoint.domain import values as v
from touchpoint.errors import ValidationError


def test_a_refused_number_is_refused_again_with_the_same_words() -> None:
    problems = []
    for field in ("phone", "mobile"):
        with pytest.raises(ValidationError) as caught:
            v.phone(field, "030 12", "DE")
        problems.append((caught.value.field, caught.value.problem))
    assert problems[0][1] == problems[1][1]
    assert [p[0] for p in problems] == ["phone", "mobile"]
    assert "in DE: add the country code" in problems[0][1]


def test_a_number_without_its_country_code_is_read_in_each_region() -> None:
    assert v.phone("phone", "030 1234567", "DE") == "+49301234567"
    with pytest.raises(ValidationError, match="in US"):
        v.phone("phone", "030 1234567", "US")
    assert v.phone("phone", "030 1234567", "DE") == "+49301234567"


def test_a_number_with_its_country_code_reads_the_same_everywhere() -> None:
    found = {v.phone("phone", "+44 20 7946 0123", region) for region in ("GB", "DE", "US")}
    assert found == {"+442079460123"}
    for region in ("GB", "US"):
        with pytest.raises(ValidationError) as caught:
            v.phone("phone", "+44 20 12", region)
        assert caught.value.problem == "'+44 20 12' is not a valid phone number"
    with pytest.raises(ValidationError, match="is not a phone number"):
        v.phone("phone", "+", "DE")
    with pytest.raises(ValidationError, match="is not a phone number"):
        v.phone("phone", "+", "DE")


def _stored_numbers() -> list[str]:
    """Every country's example numbers of every type in E.164, and random digits after
    every country code (short, long, leading zeros, national prefixes)."""
    import random

    import phonenumbers

    rng = random.Random(7)
    out = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in range(12):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None:
                out.append(phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164))
    codes = sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)
    for code in codes:
        for _ in range(12):
            digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 15)))
            out.append(f"+{code}{digits}")
    return out


def test_a_stored_number_is_read_as_parse_reads_it() -> None:
    import phonenumbers

    read_fast = 0
    for text in _stored_numbers():
        try:
            expected = phonenumbers.parse(text, None)
        except phonenumbers.NumberParseException:
            expected = None
        got = v._stored_number(text)
        if got is None:
            continue  # parse's own path
        read_fast += 1
        assert got == expected, text
        assert (got.italian_leading_zero, got.number_of_leading_zeros) == (
            expected.italian_leading_zero,
            expected.number_of_leading_zeros,
        ), text
    assert read_fast > 2500  # the quick path is the usual one


def test_numbers_are_shown_in_their_international_form() -> None:
    assert v.display_phone("+49301234567") == "+49 30 1234567"
    assert v.display_phone("+390612345678") == "+39 06 1234 5678"  # Italy's leading zero
    assert v.display_phone("+14155550132") == "+1 415-555-0132"
    assert v.display_phone("555 0132") == "555 0132"  # kept as written: shown as it is
