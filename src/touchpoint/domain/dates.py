"""Dates and times as people type them, and the local calendar days reports count in.

Times are stored in UTC; a "day" is always the user's local calendar day
(PRODUCT.md). ``parse_when`` understands ISO dates and times and the shortcuts
a rep types between two visits: ``today``, ``tomorrow``, ``yesterday``,
``+3d``, ``+2w``, ``+4h``, ``-1d``, ``fri``, ``next monday``, ``fri 10:00``,
``tomorrow 9am``, ``in 3 days``.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo

# When only a day is given, a promise is due at the end of the working day.
DEFAULT_DUE_TIME = time(17, 0)

WEEKDAYS = {
    "mon": 0, "monday": 0, "tue": 1, "tues": 1, "tuesday": 1, "wed": 2, "wednesday": 2,
    "thu": 3, "thur": 3, "thurs": 3, "thursday": 3, "fri": 4, "friday": 4,
    "sat": 5, "saturday": 5, "sun": 6, "sunday": 6,
}  # fmt: skip

_UNITS = {"m": "minutes", "min": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_UNIT_WORDS = {
    "minute": "minutes", "minutes": "minutes", "hour": "hours", "hours": "hours",
    "day": "days", "days": "days", "week": "weeks", "weeks": "weeks",
}  # fmt: skip

_RELATIVE = re.compile(r"^([+-])\s*(\d{1,4})\s*(min|m|h|d|w)$")
_IN_WORDS = re.compile(r"^in\s+(\d{1,4})\s+(\w+)$")
_TIME = re.compile(r"^(\d{1,2})(?::(\d{2}))?\s*(am|pm)?$")


def _parse_time_of_day(text: str) -> time | None:
    match = _TIME.match(text.strip().lower())
    if not match:
        return None
    hour, minute, half = int(match.group(1)), int(match.group(2) or 0), match.group(3)
    if half:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if half == "pm" else 0)
    elif match.group(2) is None:
        return None  # a bare number ("10") is too ambiguous to be a time
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None
    return time(hour, minute)


def _day_word(word: str, today: date, *, past: bool = False) -> date | None:
    if word == "today":
        return today
    if word == "tomorrow":
        return today + timedelta(days=1)
    if word == "yesterday":
        return today - timedelta(days=1)
    parts = word.split()
    if len(parts) == 2 and parts[0] == "next" and parts[1] in WEEKDAYS:
        ahead = (WEEKDAYS[parts[1]] - today.weekday()) % 7 or 7
        return today + timedelta(days=ahead)
    if word == "next week":
        return today + timedelta(days=7 - today.weekday())
    if word in WEEKDAYS:
        if past:
            # Something that happened: "fri" is the most recent Friday (today included).
            return today - timedelta(days=(today.weekday() - WEEKDAYS[word]) % 7)
        # "fri" on a Friday means next Friday: a promise is never due in the past.
        ahead = (WEEKDAYS[word] - today.weekday()) % 7 or 7
        return today + timedelta(days=ahead)
    try:
        return date.fromisoformat(word)
    except ValueError:
        return None


def local(day: date, at: time, tz: tzinfo) -> datetime:
    """The aware datetime of a local wall-clock time (a gap or fold resolves forwards)."""
    return datetime.combine(day, at, tzinfo=tz)


def parse_when(text: str, *, now: datetime, tz: tzinfo, past: bool = False) -> datetime:
    """An aware UTC datetime for what a person typed; raises ValueError with a human reason.

    A day without a time means 17:00 local (the end of the working day); a
    relative offset counts from ``now``. ``past``: the time of something that
    happened (an interaction): a weekday means the most recent one, today included
    ("fri 10:00" typed on a Thursday is last Friday), and "today" without a time is
    not later than now. Otherwise a weekday is the coming one (a promise's due day).
    """
    raw = " ".join(str(text).strip().lower().split())
    if not raw:
        raise ValueError("is empty; give a date like 2026-11-24, tomorrow, +3d or fri 10:00")
    if raw == "now":
        return now.astimezone(UTC)
    today = now.astimezone(tz).date()

    relative = _RELATIVE.match(raw)
    words = _IN_WORDS.match(raw)
    if relative or words:
        if relative:
            sign = -1 if relative.group(1) == "-" else 1
            amount, unit = int(relative.group(2)), _UNITS[relative.group(3)]
        else:
            assert words is not None
            sign, amount = 1, int(words.group(1))
            unit = _UNIT_WORDS.get(words.group(2), "")
            if not unit:
                raise ValueError(f"'{text}' is not a date: unknown unit '{words.group(2)}'")
        delta = timedelta(**{unit: sign * amount})
        if unit in ("days", "weeks"):
            # "+3d" is a day, not 72 hours from this minute: end of that local day.
            return local(today + delta, DEFAULT_DUE_TIME, tz).astimezone(UTC)
        return (now + delta).astimezone(UTC)

    # ISO date-time first: "2026-11-24T10:30", "2026-11-24 10:30", with or without offset.
    try:
        parsed = datetime.fromisoformat(raw.upper().replace("Z", "+00:00"))
    except ValueError:
        parsed = None
    if parsed is not None and (":" in raw or "t" in raw):
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=tz)
        return parsed.astimezone(UTC)

    # "<day words> [time]" or "<time>" alone (today at that time).
    for split in range(len(raw.split()), 0, -1):
        parts = raw.split()
        day_part, time_part = " ".join(parts[:split]), " ".join(parts[split:])
        day = _day_word(day_part, today, past=past)
        if day is None:
            continue
        at = DEFAULT_DUE_TIME
        if past and not time_part and day == today:
            return min(local(day, at, tz).astimezone(UTC), now.astimezone(UTC))
        if time_part:
            parsed_time = _parse_time_of_day(time_part.removeprefix("at ").strip())
            if parsed_time is None:
                raise ValueError(f"'{text}' is not a date: '{time_part}' is not a time like 10:30")
            at = parsed_time
        return local(day, at, tz).astimezone(UTC)
    only_time = _parse_time_of_day(raw.removeprefix("at ").strip())
    if only_time is not None:
        return local(today, only_time, tz).astimezone(UTC)
    raise ValueError(
        f"'{text}' is not a date; use 2026-11-24, 2026-11-24 10:30, today, tomorrow, "
        "+3d, +2w, fri, next monday or fri 10:00"
    )


def parse_day(text: str, *, today: date) -> date:
    """A calendar day (for report ranges): ISO or today/yesterday/tomorrow/weekday/-3d."""
    raw = " ".join(str(text).strip().lower().split())
    match = _RELATIVE.match(raw)
    if match and match.group(3) in ("d", "w"):
        sign = -1 if match.group(1) == "-" else 1
        return today + timedelta(**{_UNITS[match.group(3)]: sign * int(match.group(2))})
    if raw in WEEKDAYS:
        # For a report, "mon" means the most recent Monday (today included).
        return today - timedelta(days=(today.weekday() - WEEKDAYS[raw]) % 7)
    day = _day_word(raw, today)
    if day is None:
        raise ValueError(f"'{text}' is not a date; use 2026-11-24, today, yesterday or -7d")
    return day


def local_day_bounds(day: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """[start, end) of a local calendar day, in UTC (23 or 25 hours on DST changes)."""
    start = local(day, time(0, 0), tz).astimezone(UTC)
    end = local(day + timedelta(days=1), time(0, 0), tz).astimezone(UTC)
    return start, end


def local_range_bounds(first: date, last: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """[start of ``first``, end of ``last``) in UTC: an inclusive range of local days."""
    return local_day_bounds(first, tz)[0], local_day_bounds(last, tz)[1]


def local_date(moment: datetime, tz: tzinfo) -> date:
    return moment.astimezone(tz).date()


def week_start(day: date) -> date:
    """The Monday of the ISO week holding ``day``."""
    return day - timedelta(days=day.weekday())


def days_between(earlier: datetime, later: datetime, tz: tzinfo) -> int:
    """Whole local calendar days from one moment to another (0 on the same day)."""
    return (local_date(later, tz) - local_date(earlier, tz)).days


def due_buckets(today: date, work_days: frozenset[int]) -> list[tuple[str, date]]:
    """The headings open promises are listed under after "Overdue", each with its last
    local day (inclusive); anything later is "Later".

    Today, Tomorrow, then "This week" only while a working day of this week is left
    after tomorrow, then "Next week" (to the end of the coming calendar week). On a
    Saturday or Sunday there is no "This week (0)" hiding Monday's promises: Monday is
    Tomorrow or in Next week."""
    tomorrow = today + timedelta(days=1)
    sunday = today + timedelta(days=6 - today.weekday())
    buckets = [("Today", today), ("Tomorrow", tomorrow)]
    rest = (tomorrow + timedelta(days=n) for n in range(1, (sunday - tomorrow).days + 1))
    if any(day.weekday() in work_days for day in rest):
        buckets.append(("This week", sunday))
    buckets.append(("Next week", sunday + timedelta(days=7)))
    return buckets
