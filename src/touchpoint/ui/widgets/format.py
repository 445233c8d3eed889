"""How times, days and money read on screen, in the user's time zone."""

from __future__ import annotations

from datetime import datetime, tzinfo
from decimal import Decimal


def local(when: datetime, tz: tzinfo) -> datetime:
    return when.astimezone(tz)


def when_text(when: datetime | None, tz: tzinfo, now: datetime | None = None) -> str:
    """'today 14:30', 'yesterday 09:00', 'Fri 20 Nov 10:00', '3 Mar 2025'."""
    if when is None:
        return "never"
    at = when.astimezone(tz)
    ref = (now or datetime.now(tz)).astimezone(tz)
    if abs(at.year - ref.year) > 1:  # long overdue: the date alone, worked out cheaply
        return f"{at.day} {at.strftime('%b %Y')}"
    days = (at.date() - ref.date()).days
    clock = f"{at.hour:02d}:{at.minute:02d}"
    if days == 0:
        return f"today {clock}"
    if days == -1:
        return f"yesterday {clock}"
    if days == 1:
        return f"tomorrow {clock}"
    if at.year == ref.year:
        return f"{at.strftime('%a')} {at.day} {at.strftime('%b')} {clock}"
    return f"{at.day} {at.strftime('%b %Y')}"


def day_text(when: datetime | None, tz: tzinfo, now: datetime) -> str:
    """The day alone, for a narrow column: 'today', 'tomorrow', 'Fri 20 Nov', '3 Mar 2027'."""
    if when is None:
        return ""
    text = when_text(when, tz, now)
    return text.rsplit(" ", 1)[0] if text[-3:-2] == ":" else text


def date_text(when: datetime | None, tz: tzinfo) -> str:
    if when is None:
        return ""
    at = when.astimezone(tz)
    return f"{at.day} {at.strftime('%b %Y')}"


def days_text(days: int | None) -> str:
    if days is None:
        return "never"
    if days == 0:
        return "today"
    if days == 1:
        return "1 day ago"
    return f"{days} days ago"


def money(value: Decimal | float | int | None, currency: str) -> str:
    if value is None:
        return ""
    return (
        f"{Decimal(value):,.0f} {currency}"
        if Decimal(value) == Decimal(value).to_integral_value()
        else f"{Decimal(value):,.2f} {currency}"
    )


def satisfaction_text(value: float | None) -> str:
    return "no scores yet" if value is None else f"{value:.1f} / 5"
