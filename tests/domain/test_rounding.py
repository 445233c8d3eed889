"""Figures are rounded half up, as people round by hand (PRODUCT.md, "Rounding")."""

from __future__ import annotations

from decimal import Decimal

import pytest

from touchpoint.domain.rounding import fixed, half_up, half_up_int


@pytest.mark.parametrize(
    ("value", "places", "shown"),
    [
        (3.25, 1, "3.3"),  # round-half-even (and 3.25's binary value) give 3.2
        (3.35, 1, "3.4"),
        (2.5, 0, "3"),
        (0.5, 0, "1"),
        (2.675, 2, "2.68"),  # a hair under in binary: read as typed
        (11 / 3, 1, "3.7"),
        (-2.5, 0, "-3"),  # half away from zero
        (-0.04, 1, "0.0"),  # never "-0.0"
        (100.0, 0, "100"),
    ],
)
def test_fixed_rounds_half_up(value: float, places: int, shown: str) -> None:
    assert fixed(value, places) == shown


def test_half_up_numbers() -> None:
    assert half_up(3.25, 1) == Decimal("3.3")
    assert half_up(Decimal("12.5")) == Decimal("13")
    assert half_up_int(49.5) == 50 and half_up_int(12.5) == 13
    assert round(12.5) == 12  # what the built-in would have shown
