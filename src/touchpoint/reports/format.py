"""How a figure reads on a manager's page: the same words in HTML, Excel and PDF.

Every figure is rounded half up, as people round by hand (3.25 is 3.3), through
:mod:`touchpoint.domain.rounding`; never Python's round-half-to-even formatting.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, tzinfo

from touchpoint.domain.metrics import GoalProgress, PromiseStats
from touchpoint.domain.rounding import fixed, half_up_int
from touchpoint.services.reports import DailyReport

NO_DATA = "no data"
DASH = "–"


def percent(value: float | None) -> str:
    return DASH if value is None else f"{fixed(value)}%"


def over_under(progress: GoalProgress) -> str:
    """+30% over goal, −20% under; no goal: a dash."""
    delta = progress.over_under
    if delta is None:
        return DASH
    rounded = half_up_int(delta)
    if rounded == 0:
        return "on goal"
    return f"+{rounded}%" if rounded > 0 else f"−{-rounded}%"


def goal_number(value: float | None) -> str:
    if value is None:
        return DASH
    return fixed(value) if float(value).is_integer() else fixed(value, 1)


def rate(stats: PromiseStats) -> str:
    """Promise-keeping rate; nothing due is "no data", never 100%."""
    return NO_DATA if stats.rate is None else f"{fixed(100 * stats.rate)}%"


def score(value: float | None) -> str:
    return DASH if value is None else fixed(value, 1)


def change(value: float | None) -> str:
    if value is None:
        return DASH
    shown = fixed(abs(value), 1)
    if shown == "0.0":
        return "±0.0"
    return f"+{shown}" if value > 0 else f"−{shown}"


def local_day(moment: datetime | None, tz: tzinfo) -> str:
    return "" if moment is None else moment.astimezone(tz).strftime("%Y-%m-%d")


def local_minute(moment: datetime | None, tz: tzinfo) -> str:
    return "" if moment is None else moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def title(report: DailyReport) -> str:
    # A day, a week, or any other span (the console's "this month"): never a month
    # called weekly.
    kind = {1: "Daily activity report", 7: "Weekly activity report"}.get(
        report.days, "Activity report"
    )
    return f"{kind}: {report.scope}"


def generated(report: DailyReport, tz: tzinfo) -> str:
    return report.generated_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def goal_state(progress: GoalProgress) -> str:
    """ "over", "under" or "" for colouring a cell."""
    delta = progress.over_under
    if delta is None:
        return ""
    return "over" if delta >= 0 else "under"


def more(count: int) -> str:
    """What a cut list says under its last line: "and 4 more" ("" when nothing is cut)."""
    return f"and {count} more" if count > 0 else ""


def top_outcomes(counts: Mapping[str, int], shown: int) -> list[str]:
    """The ``shown`` most frequent outcomes, most frequent first (ties by name), plus
    every outcome tied with the last one shown: an outcome as frequent as one in the
    table (a complaint) is never folded into "other"."""
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    if len(ordered) <= shown:
        return [name for name, _ in ordered]
    cut = ordered[shown - 1][1]
    return [name for name, n in ordered if n >= cut]


def nice_scale(peak: float, *, ticks: int = 5, whole: bool = True) -> tuple[float, float]:
    """An axis from 0 for values up to ``peak``: (top, step), the step 1, 2 or 5 times
    a power of ten (a whole number for counts), at most ``ticks`` steps: 0, 5, 10, 15
    rather than 0, 6.9, 13.8, 20.6."""
    import math

    peak = max(float(peak), 1.0 if whole else 0.1)
    raw = peak / ticks
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    if whole:
        step = max(1.0, float(math.ceil(step)))
    top = math.ceil(peak / step - 1e-9) * step
    return float(top), float(step)
