"""Phone numbers are read once per text and region: the answer (the number, or why it
is refused) is the same the second time, from the memory of the first."""

from __future__ import annotations

import random

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


def test_a_stored_number_is_shown_as_the_library_formats_it() -> None:
    import phonenumbers

    shown_fast = 0
    for text in _stored_numbers():
        v._DISPLAY.clear()
        try:
            expected = phonenumbers.format_number(
                phonenumbers.parse(text, None), phonenumbers.PhoneNumberFormat.INTERNATIONAL
            )
        except phonenumbers.NumberParseException:
            expected = text
        shown_fast += v._stored_number(text) is not None
        assert v.display_phone(text) == expected, text
    assert shown_fast > 2000  # the fast path is the one tested


def test_a_number_is_valid_exactly_when_the_library_says_so() -> None:
    """values' validity check (the kinds asked in another order, a region's answer kept)
    against phonenumbers.is_valid_number, on every country's examples of every kind and
    on random digits after every calling code, read in two regions."""
    import phonenumbers

    numbers = []
    for text in _stored_numbers() + _written_numbers():
        for region in ("US", "IT"):
            try:
                numbers.append(phonenumbers.parse(text, region))
            except phonenumbers.NumberParseException:
                continue
    valid = 0
    for number in numbers:
        expected = phonenumbers.is_valid_number(number)
        assert v._valid_number(number) == expected, number
        valid += expected
    assert valid > 5_000
    assert len(numbers) - valid > 5_000


def test_numbers_are_shown_in_their_international_form() -> None:
    assert v.display_phone("+49301234567") == "+49 30 1234567"
    assert v.display_phone("+390612345678") == "+39 06 1234 5678"  # Italy's leading zero
    assert v.display_phone("+14155550132") == "+1 415-555-0132"
    assert v.display_phone("555 0132") == "555 0132"  # kept as written: shown as it is


def _written_numbers() -> list[str]:
    """Numbers as people and other programs write them: every country's examples in
    each format and with other separators, a national prefix kept after the country
    code, extensions, letters, a second number; others made wrong (a digit more, one
    less, digits changed, no country at all); random digits after every country code."""
    import random

    import phonenumbers

    rng = random.Random(11)
    formats = phonenumbers.PhoneNumberFormat
    out = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in range(12):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            code = example.country_code
            shown = phonenumbers.format_number(example, formats.INTERNATIONAL)
            national = phonenumbers.format_number(example, formats.NATIONAL)
            e164 = phonenumbers.format_number(example, formats.E164)
            nsn = e164.removeprefix(f"+{code}")
            out += [
                shown, e164, national, phonenumbers.format_number(example, formats.RFC3966),
                shown.replace(" ", "-"), shown.replace(" ", "."), shown.replace(" ", "/"),
                f"+{code} ({nsn[:3]}) {nsn[3:]}", f"+({code}) {nsn}", f"+ {code} {nsn}",
                f"+{code} (0){nsn}", f"+{code} 0{nsn}", f"+{code}{nsn[:-1]}", f"+{code}{nsn}9",
                f"{shown} ext. 12", f"{shown} x12", f"{e164};ext=7", f"{shown}#", f"{e164} 12#",
                f"{shown} / x 5", f"{shown})", f"++{code}{nsn}", f"＋{code}{nsn}",
                f"00{code} {nsn}", f"+{code} {nsn} CALL", f"+{code}--{nsn}", f"+{code}  {nsn}",
            ]  # fmt: skip
            changed = "".join(rng.choice("0123456789") if rng.random() < 0.3 else d for d in nsn)
            out.append(f"+{code} {changed}")
    for code in sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE):
        for _ in range(6):
            digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 15)))
            out.append(f"+{code} {digits[:3]} {digits[3:]}".strip())
    out += ["+", "+ ", "+1", "+12", "+0 20 7946 0001", "+999 123 4567", "+1-800-FLOWERS",
            "+٤٤ ٢٠ ٧٩٤٦ ٠٠٠١", "+44 20 7946 0001", "+44 (0) 20 7946 0001", "+" + "1" * 40,
            "+44 " + " " * 300 + "2079460001", "+39 06 1234 5678", "+39 312 345 6789"]  # fmt: skip
    return out


_REGIONS = ("US", "GB", "DE", "IT", "BR", "ZZ")


def test_a_number_written_with_its_country_code_is_read_as_parse_reads_it() -> None:
    import phonenumbers

    read_fast = 0
    for text in _written_numbers():
        got = v._written_e164(text)
        if got is None:
            continue  # parse's own path
        read_fast += 1
        for region in _REGIONS:
            expected = phonenumbers.parse(text, region)  # it never refuses what was read
            assert got == expected, (text, region)
            assert (got.italian_leading_zero, got.number_of_leading_zeros) == (
                expected.italian_leading_zero,
                expected.number_of_leading_zeros,
            ), text
    assert read_fast > 15_000  # the quick path is the usual one for such numbers


def _phone_by_parse(text: str, region: str) -> tuple[str, str]:
    """What values.phone answers, by phonenumbers' own parse only: ("ok", E.164 and its
    international form) or ("refused", the problem)."""
    import phonenumbers

    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return "refused", f"'{text}' is not a phone number"
    if not phonenumbers.is_possible_number(number) or not phonenumbers.is_valid_number(number):
        problem = f"'{text}' is not a valid phone number"
        if not text.lstrip().startswith(("+", "00")):
            problem += (
                f" in {region}: add the country code (like +49…) or set your default region"
                " (touchpoint config set default_region DE)"
            )
        return "refused", problem
    formats = phonenumbers.PhoneNumberFormat
    e164 = phonenumbers.format_number(number, formats.E164)
    return "ok", f"{e164} {phonenumbers.format_number(number, formats.INTERNATIONAL)}"


def test_every_written_number_gets_the_answer_parse_gives() -> None:
    """Accepted or refused, the same E.164, international form (remembered for the search
    document) and words as reading each number with parse alone, in several regions."""
    accepted = 0
    # Each number in one of two regions, drawn with a fixed seed: every form of the
    # countries' examples is still read in both, in half the time of every number twice.
    draw = random.Random(3)
    for text in _written_numbers():
        region = draw.choice(("US", "DE"))
        clean = v.clean_text(text)
        if clean is None:
            continue
        expected = _phone_by_parse(clean, region)
        v._PHONES.clear()  # each number read afresh, as the first time
        v._DISPLAY.clear()
        try:
            e164 = v.phone("phone", text, region)
            got = ("ok", f"{e164} {v._DISPLAY[e164]}")
            accepted += 1
        except ValidationError as exc:
            got = ("refused", exc.problem)
        assert got == expected, (text, region)
    assert accepted > 5_000
