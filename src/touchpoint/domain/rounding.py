"""Rounding as people do it by hand: half up (3.25 is 3.3, 2.5 is 3), never to even.

Python's ``round`` and ``format`` round a tie to the even neighbour (and see 3.25's
binary value, a hair under); every figure a person reads goes through here instead.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal


def half_up(value: float | Decimal, places: int = 0) -> Decimal:
    """``value`` rounded half up (away from zero on a tie) to ``places`` decimals.

    A float is read by its shortest text (``repr``), the number a person typed or
    sees: 2.675 is 2.68, although its binary value is 2.67499999..."""
    number = value if isinstance(value, Decimal) else Decimal(repr(float(value)))
    return number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def half_up_int(value: float | Decimal) -> int:
    """``value`` rounded half up to a whole number."""
    return int(half_up(value))


def fixed(value: float | Decimal, places: int = 0) -> str:
    """``value`` as text with ``places`` decimals, rounded half up ("3.3" for 3.25)."""
    rounded = half_up(value, places)
    return f"{rounded.copy_abs() if rounded == 0 else rounded:f}"  # never "-0.0"
