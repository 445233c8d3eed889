"""How a figure reads on a manager's page: the same words in HTML, Excel and PDF."""

from __future__ import annotations

from datetime import datetime, tzinfo

from touchpoint.domain.metrics import GoalProgress, PromiseStats
from touchpoint.services.reports import DailyReport

NO_DATA = "no data"
DASH = "–"


def percent(value: float | None) -> str:
    return DASH if value is None else f"{value:.0f}%"


def over_under(progress: GoalProgress) -> str:
    """+30% over goal, −20% under; no goal: a dash."""
    delta = progress.over_under
    if delta is None:
        return DASH
    rounded = round(delta)
    if rounded == 0:
        return "on goal"
    return f"+{rounded}%" if rounded > 0 else f"−{-rounded}%"


def goal_number(value: float | None) -> str:
    if value is None:
        return DASH
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def rate(stats: PromiseStats) -> str:
    """Promise-keeping rate; nothing due is "no data", never 100%."""
    return NO_DATA if stats.rate is None else f"{100 * stats.rate:.0f}%"


def score(value: float | None) -> str:
    return DASH if value is None else f"{value:.1f}"


def change(value: float | None) -> str:
    if value is None:
        return DASH
    if abs(value) < 0.05:
        return "±0.0"
    return f"+{value:.1f}" if value > 0 else f"−{-value:.1f}"


def local_day(moment: datetime | None, tz: tzinfo) -> str:
    return "" if moment is None else moment.astimezone(tz).strftime("%Y-%m-%d")


def local_minute(moment: datetime | None, tz: tzinfo) -> str:
    return "" if moment is None else moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def title(report: DailyReport) -> str:
    kind = "Daily activity report" if report.days == 1 else "Weekly activity report"
    return f"{kind}: {report.scope}"


def generated(report: DailyReport, tz: tzinfo) -> str:
    return report.generated_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def goal_state(progress: GoalProgress) -> str:
    """ "over", "under" or "" for colouring a cell."""
    delta = progress.over_under
    if delta is None:
        return ""
    return "over" if delta >= 0 else "under"
