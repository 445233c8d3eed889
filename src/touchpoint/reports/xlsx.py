"""The daily report as an Excel workbook: one sheet per section and a summary first.

Numbers are numbers (percentages as fractions with a % format, so a director can
sum and chart them), dates are dates, every table has a frozen header, filters
and set widths; the summary and by-day sheets carry native Excel charts.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from touchpoint.domain.rounding import half_up
from touchpoint.policy import check_export_format
from touchpoint.reports import format as fmt
from touchpoint.reports.html import report_tz
from touchpoint.services.activity_export import atomic_target, new_workbook
from touchpoint.services.reports import DailyReport, RepFigures


def _naive_local(moment: datetime | None, report: DailyReport) -> datetime | None:
    if moment is None:
        return None
    return moment.astimezone(report_tz(report)).replace(tzinfo=None)


class _Sheet:
    """One table on its own sheet: header, typed rows, frozen header, filters, widths."""

    def __init__(
        self, book: Any, formats: dict[str, Any], name: str, headers: Sequence[tuple[str, float]]
    ) -> None:
        self.sheet = book.add_worksheet(name)
        self.formats = formats
        self.columns = len(headers)
        for col, (_, width) in enumerate(headers):
            self.sheet.set_column(col, col, width)
        self.sheet.write_row(0, 0, [h for h, _ in headers], formats["header"])
        self.sheet.freeze_panes(1, 1)
        self.row = 1

    def add(self, values: Sequence[Any], *, bold: bool = False) -> None:
        for col, value in enumerate(values):
            self.cell(self.row, col, value, bold=bold)
        self.row += 1

    def cell(self, row: int, col: int, value: Any, *, bold: bool = False) -> None:
        f = self.formats
        if value is None:
            self.sheet.write_blank(row, col, None, f["bold"] if bold else None)
        elif isinstance(value, Percent):
            self.sheet.write_number(
                row, col, value.fraction, f["bold_percent" if bold else "percent"]
            )
        elif isinstance(value, Decimal1):
            self.sheet.write_number(row, col, value.value, f["bold_decimal" if bold else "decimal"])
        elif isinstance(value, datetime):
            self.sheet.write_datetime(row, col, value, f["datetime"])
        elif isinstance(value, date):
            self.sheet.write_datetime(row, col, value, f["date"])
        elif isinstance(value, bool):
            self.sheet.write_boolean(row, col, value)
        elif isinstance(value, int | float):
            self.sheet.write_number(row, col, value, f["bold"] if bold else None)
        else:
            self.sheet.write_string(row, col, str(value), f["bold"] if bold else None)

    def finish(self) -> None:
        self.sheet.autofilter(0, 0, max(self.row - 1, 1), self.columns - 1)


class Percent:
    """A share shown as a percentage in Excel (stored as a number: 1.3 for 130%)."""

    def __init__(self, percent: float) -> None:
        self.fraction = percent / 100.0


class Decimal1:
    def __init__(self, value: float) -> None:
        self.value = value


def _pct(value: float | None) -> Percent | None:
    return None if value is None else Percent(value)


def _score(value: float | None) -> Decimal1 | None:
    return None if value is None else Decimal1(value)


def _against_goal(r: RepFigures) -> Percent | None:
    goal = r.goal_total
    if not goal:
        return None
    return Percent(100.0 * sum(g.done for g in r.goals if g.goal) / goal)


def write_workbook(report: DailyReport, path: str | os.PathLike[str]) -> None:
    """Write the workbook atomically (a finished file or none)."""
    check_export_format("xlsx")
    with atomic_target(path) as temp:
        _write(report, temp)


def _write(report: DailyReport, path: Any) -> None:
    # Small tables: no need for the row-at-a-time mode.
    book, formats = new_workbook(path, streaming=False)
    formats["bold"] = book.add_format({"bold": True})
    formats["bold_percent"] = book.add_format({"bold": True, "num_format": "0%"})
    formats["bold_decimal"] = book.add_format({"bold": True, "num_format": "0.00"})
    tz = report_tz(report)
    people = [*report.reps, report.team] if len(report.reps) > 1 else list(report.reps)

    def name(r: RepFigures) -> str:
        return report.display(r.rep)

    def email(r: RepFigures) -> str | None:
        return None if r.rep == "team" else r.rep

    def more(sheet: _Sheet, count: int) -> None:
        """A cut list's last row says how many more there are."""
        if count > 0:
            sheet.add([fmt.more(count)])

    # Summary.
    summary = book.add_worksheet("Summary")
    summary.set_column(0, 0, 30)
    summary.set_column(1, 1, 18)
    summary.set_column(2, 2, 60)
    summary.write_string(0, 0, fmt.title(report), formats["title"])
    team = report.team
    facts: list[tuple[str, Any, str]] = [
        ("from", report.first, ""),
        ("to", report.last, ""),
        ("time zone", report.timezone, ""),
        ("generated", _naive_local(report.generated_at, report), ""),
        ("figures as of", _naive_local(report.as_of, report), "the end of the period"),
        ("interactions", team.interactions, ""),
        ("against goal", _against_goal(team), "interactions of kinds with a goal / goal"),
        ("follow-ups made", team.followups_made, ""),
        ("promises due", team.promises.due, "kept + late + overdue"),
        ("kept", team.promises.kept, "done by the due time"),
        ("late", team.promises.late, "done after the due time"),
        ("overdue", team.promises.overdue, "still open after the due time"),
        (
            "promise-keeping rate",
            _pct(None if team.promises.rate is None else 100 * team.promises.rate),
            "empty: nothing was due (no data)",
        ),
        ("satisfaction", _score(team.satisfaction), f"{team.scored} scored interactions"),
        ("satisfaction change", _score(team.satisfaction_change), "against the period before"),
        ("customers going quiet", report.quiet_total, "as of the end of the period"),
        ("profiles checked", report.hygiene.checked, "active and prospect customers"),
        ("profiles incomplete", report.hygiene.incomplete, ""),
        ("profiles stale", report.hygiene.stale, "not confirmed or changed for a year"),
    ]
    writer = _Sheet.__new__(_Sheet)
    writer.sheet, writer.formats, writer.columns, writer.row = summary, formats, 3, 2
    for label, value, note in facts:
        summary.write_string(writer.row, 0, label, formats["label"])
        writer.cell(writer.row, 1, value)
        if note:
            summary.write_string(writer.row, 2, note)
        writer.row += 1

    # Activity against goal: one row per rep and kind.
    activity = _Sheet(
        book,
        formats,
        "Activity",
        [("rep", 30), ("kind", 10), ("done", 8), ("goal", 8), ("against goal", 13),
         ("over/under", 12), ("email", 30)],
    )  # fmt: skip
    for r in people:
        for g in r.goals:
            activity.add(
                [
                    name(r),
                    g.kind,
                    g.done,
                    None if g.goal is None else float(half_up(g.goal, 2)),
                    _pct(g.percent),
                    _pct(g.over_under),
                    email(r),
                ],
                bold=r.rep == "team",
            )
    activity.finish()

    # Every outcome has its column here: nothing is folded into "other".
    outcomes_all = fmt.top_outcomes(report.team.by_outcome, len(report.team.by_outcome))
    outcomes = _Sheet(
        book,
        formats,
        "Outcomes",
        [("rep", 30), *[(o, max(10, len(o) + 2)) for o in outcomes_all], ("email", 30)],
    )
    for r in people:
        outcomes.add([name(r), *[r.by_outcome.get(o, 0) for o in outcomes_all], email(r)])
    outcomes.finish()

    promises = _Sheet(
        book,
        formats,
        "Promises",
        [("rep", 30), ("made", 8), ("due", 8), ("kept", 8), ("late", 8), ("overdue", 9),
         ("not yet due", 12), ("cancelled", 10), ("keeping rate", 13), ("email", 30)],
    )  # fmt: skip
    for r in people:
        p = r.promises
        promises.add(
            [
                name(r),
                r.followups_made,
                p.due,
                p.kept,
                p.late,
                p.overdue,
                p.open,
                p.cancelled,
                _pct(None if p.rate is None else 100 * p.rate),
                email(r),
            ],
            bold=r.rep == "team",
        )
    promises.finish()

    satisfaction = _Sheet(
        book,
        formats,
        "Satisfaction",
        [("rep", 30), ("scored", 8), ("average", 9), ("period before", 13), ("change", 9),
         ("email", 30)],
    )  # fmt: skip
    for r in people:
        satisfaction.add(
            [
                name(r),
                r.scored,
                _score(r.satisfaction),
                _score(r.satisfaction_before),
                _score(r.satisfaction_change),
                email(r),
            ],
            bold=r.rep == "team",
        )
    satisfaction.finish()

    voices = _Sheet(
        book,
        formats,
        "Customer words",
        [("", 8), ("when", 17), ("customer", 30), ("rep", 28), ("kind", 9), ("score", 7),
         ("their words", 80)],
    )  # fmt: skip
    for label, items, total in (
        ("best", report.best, report.best_total),
        ("worst", report.worst, report.worst_total),
    ):
        for v in items:
            voices.add(
                [label, _naive_local(v.occurred_at, report), v.customer, report.display(v.rep),
                 v.kind, v.score, v.words]
            )  # fmt: skip
        if total > len(items):
            voices.add([label, None, fmt.more(total - len(items))])
    voices.finish()

    quiet = _Sheet(
        book,
        formats,
        "Going quiet",
        [("customer", 34), ("owner", 30), ("last touch", 12), ("days silent", 11),
         ("satisfaction", 12), ("falling", 8), ("why", 40)],
    )  # fmt: skip
    for q in report.quiet:
        last = q.last_touch.astimezone(tz).date() if q.last_touch else None
        quiet.add(
            [q.name, report.display(q.owner), last, q.days, _score(q.satisfaction), q.falling,
             q.reason]
        )  # fmt: skip
    more(quiet, report.quiet_more)
    quiet.finish()

    hygiene = _Sheet(
        book,
        formats,
        "Data hygiene",
        [("customer", 34), ("owner", 30), ("status", 10), ("complete", 10), ("missing", 60),
         ("stale", 7), ("last confirmed or changed", 24)],
    )  # fmt: skip
    for h in report.hygiene.worst:
        hygiene.add(
            [
                h.customer,
                report.display(h.owner),
                h.status,
                Percent(h.percent),
                ", ".join(h.missing),
                h.stale,
                h.last_confirmed.astimezone(tz).date() if h.last_confirmed else None,
            ]
        )
    more(hygiene, report.hygiene.more)
    hygiene.finish()

    by_day = _Sheet(
        book,
        formats,
        "By day",
        [("day", 12), ("interactions", 13), ("toward goal", 12), ("goal", 8),
         ("kept", 8), ("late", 8), ("overdue", 9), ("satisfaction", 12)],
    )  # fmt: skip
    scores = {p.day: p.average for p in report.satisfaction_by_day}
    for d in report.activity_by_day:
        p = report.promises_by_day.get(d.day)
        by_day.add(
            [
                d.day,
                d.interactions,
                d.toward_goal,
                None if d.goal is None else float(half_up(d.goal, 2)),
                p.kept if p else 0,
                p.late if p else 0,
                p.overdue if p else 0,
                _score(scores.get(d.day)),
            ]
        )
    by_day.finish()

    # A native chart: activity toward goal per day, against the goal.
    last_row = by_day.row - 1
    chart = book.add_chart({"type": "column"})
    chart.add_series(
        {
            "name": "toward goal",
            "categories": ["By day", 1, 0, last_row, 0],
            "values": ["By day", 1, 2, last_row, 2],
            "fill": {"color": "#3b6ea8"},
        }
    )
    if any(d.goal is not None for d in report.activity_by_day):
        goal_line = book.add_chart({"type": "line"})
        goal_line.add_series(
            {
                "name": "goal",
                "categories": ["By day", 1, 0, last_row, 0],
                "values": ["By day", 1, 3, last_row, 3],
                "line": {"color": "#b3261e", "dash_type": "dash"},
            }
        )
        chart.combine(goal_line)
    chart.set_title({"name": "Interactions toward goal per day"})
    chart.set_legend({"position": "bottom"})
    summary.insert_chart(writer.row + 1, 0, chart, {"x_scale": 1.6, "y_scale": 1.2})
    summary.activate()
    book.close()
