"""Stored times: the fixed-width UTC text, read back exactly; anything else refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from touchpoint.storage.types import from_utc_text, to_utc_text


@pytest.mark.parametrize(
    "when",
    [
        datetime(2026, 11, 18, 9, 30, tzinfo=UTC),
        datetime(2026, 3, 29, 1, 59, 59, 999999, tzinfo=UTC),
        datetime(1999, 12, 31, 23, 0, 0, 1, tzinfo=timezone(timedelta(hours=-5))),
    ],
)
def test_a_time_reads_back_as_it_was_stored(when: datetime) -> None:
    text = to_utc_text(when)
    assert len(text) == 27 and text.endswith("Z")
    back = from_utc_text(text)
    assert back == when and back.tzinfo is UTC


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-18",
        "2026-11-18T09:30:00Z",
        "2026-11-18 09:30:00.000000Z",
        "2026-13-18T09:30:00.000000Z",
    ],
)
def test_other_shapes_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        from_utc_text(text)
