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
